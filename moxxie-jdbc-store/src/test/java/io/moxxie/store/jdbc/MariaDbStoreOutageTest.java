package io.moxxie.store.jdbc;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * The outage on MariaDB: the connections open on this test's own database are killed ({@code KILL CONNECTION}, found
 * by that database's name: no other session is touched) and new ones are refused by the DataSource until it is over.
 */
class MariaDbStoreOutageTest extends RefusingStoreOutageTestBase {
    @Override
    protected TestDatabase database() {
        return TestDatabase.mariadb();
    }

    @Override
    protected void dropOpenConnections() throws SQLException {
        String url = db.url();
        String head = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
        String database = head.substring(head.lastIndexOf('/') + 1);
        String base = head.substring(0, head.lastIndexOf('/') + 1) + "test";
        try (Connection c = DriverManager.getConnection(base, db.user(), db.password()); Statement s = c.createStatement()) {
            List<Long> ids = new ArrayList<>();
            try (ResultSet rs = s.executeQuery("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '" + database
                    + "' AND ID <> CONNECTION_ID()")) {
                while (rs.next()) ids.add(rs.getLong(1));
            }
            for (long id : ids) s.execute("KILL CONNECTION " + id);
        }
    }
}
