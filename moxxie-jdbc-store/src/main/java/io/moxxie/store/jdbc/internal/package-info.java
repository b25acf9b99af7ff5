/**
 * The JDBC store's implementation details: not API, may change in any release.
 */
package io.moxxie.store.jdbc.internal;
