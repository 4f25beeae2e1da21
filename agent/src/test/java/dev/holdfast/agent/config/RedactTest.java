package dev.holdfast.agent.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** Passwords disappear from connection strings in every form libpq accepts; the rest stays readable. */
class RedactTest {
    @Test
    void keyValueConninfo() {
        assertEquals("host=/var/run/postgresql user=holdfast password=**** dbname=postgres",
                Redact.conninfo("host=/var/run/postgresql user=holdfast password=s3cret dbname=postgres"));
        assertEquals("host=db password=**** port=5432", Redact.conninfo("host=db password='a b\\' c' port=5432"));
        assertEquals("host=db PASSWORD = **** sslpassword=****", Redact.conninfo("host=db PASSWORD = x sslpassword=y"));
        assertEquals("host=db user=holdfast", Redact.conninfo("host=db user=holdfast"));
        assertEquals("host=db password=**** port=1", Redact.conninfo("host=db password=my\\ secret port=1"), "an escaped space stays inside");
    }

    @Test
    void uriConninfo() {
        assertEquals("postgresql://holdfast:****@db:5432/postgres?sslmode=require",
                Redact.conninfo("postgresql://holdfast:s3cret@db:5432/postgres?sslmode=require"));
        assertEquals("postgresql://db/postgres?user=h&password=****&sslmode=require",
                Redact.conninfo("postgresql://db/postgres?user=h&password=x&sslmode=require"));
        assertEquals("postgresql://holdfast@db:5432/postgres", Redact.conninfo("postgresql://holdfast@db:5432/postgres"));
        assertEquals("redis://:****@127.0.0.1:6379", Redact.uri("redis://:pw@127.0.0.1:6379"));
    }
}
