/**
 * The facade an application or the REST server calls: {@link io.moxxie.core.service.MaintenanceService} (drain,
 * undrain, maintenance on and off, status, guests and nodes, recovery and takeover of drains whose owner died).
 */
package io.moxxie.core.service;
