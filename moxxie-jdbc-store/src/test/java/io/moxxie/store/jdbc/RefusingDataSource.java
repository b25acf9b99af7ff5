package io.moxxie.store.jdbc;

import io.moxxie.store.jdbc.internal.AbstractDataSource;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;

/** A DataSource that can be switched off, as a database server that refuses connections. Thread-safe. */
final class RefusingDataSource extends AbstractDataSource {
    private final DataSource delegate;
    volatile boolean down;

    RefusingDataSource(DataSource delegate) {
        this.delegate = delegate;
    }

    @Override
    public Connection getConnection() throws SQLException {
        if (down) throw new SQLNonTransientConnectionException("Connection refused", "08001");
        return delegate.getConnection();
    }

    @Override
    public Connection getConnection(String user, String password) throws SQLException {
        return getConnection();
    }
}
