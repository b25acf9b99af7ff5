/**
 * Immutable value types of a cluster and of a drain: nodes, guests, power and guest types, migration preconditions,
 * maintenance state, and the enums a drain is described by (mode, migration type, drain and guest states). Depends
 * only on {@code io.moxxie.core}; everything else builds on it.
 */
package io.moxxie.core.model;
