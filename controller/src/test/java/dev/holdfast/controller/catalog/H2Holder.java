package dev.holdfast.controller.catalog;

import java.sql.Connection;
import java.sql.DriverManager;

/**
 * Another process holding the embedded catalog's file, as a running controller does: opens it,
 * prints {@code ready}, and keeps it open until its standard input closes.
 */
public final class H2Holder {
    private H2Holder() {
    }

    public static void main(String[] args) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:h2:file:" + args[0] + ";MODE=PostgreSQL;DATABASE_TO_LOWER=TRUE", "holdfast", "")) {
            System.out.println("ready");
            System.out.flush();
            while (System.in.read() >= 0) {
                // until the parent closes our input
            }
        }
    }
}
