package dev.holdfast.controller.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.controller.config.ControllerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CronExpressionTest {
    private static final ZoneId UTC = ZoneId.of("UTC");
    private static final ZoneId BERLIN = ZoneId.of("Europe/Berlin");
    private static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    private static ZonedDateTime at(String local, ZoneId zone) {
        return LocalDateTime.parse(local).atZone(zone);
    }

    private static ZonedDateTime next(String cron, String local, ZoneId zone) {
        return CronExpression.parse(cron).next(at(local, zone));
    }

    private static ZonedDateTime previous(String cron, String local, ZoneId zone) {
        return CronExpression.parse(cron).previous(at(local, zone));
    }

    /** Fire times from {@code from} on, {@code n} of them, as instants. */
    private static List<Instant> fires(String cron, ZonedDateTime from, int n) {
        CronExpression c = CronExpression.parse(cron);
        List<Instant> out = new ArrayList<>();
        ZonedDateTime t = from;
        for (int i = 0; i < n; i++) {
            t = c.next(t);
            out.add(t.toInstant());
        }
        return out;
    }

    private static String parseError(String cron) {
        return assertThrows(IllegalArgumentException.class, () -> CronExpression.parse(cron)).getMessage();
    }

    @Test
    void theDefaultDailyScheduleFiresAtTwoEveryDay() {
        assertEquals(at("2026-11-24T02:00", UTC), next("0 2 * * *", "2026-11-23T02:00", UTC));
        assertEquals(at("2026-11-23T02:00", UTC), next("0 2 * * *", "2026-11-23T01:59:59.999", UTC));
        assertEquals(at("2026-11-23T02:00", UTC), previous("0 2 * * *", "2026-11-23T02:00", UTC));
        assertEquals(at("2026-11-22T02:00", UTC), previous("0 2 * * *", "2026-11-23T01:59:59", UTC));
    }

    @Test
    void theDefaultWeeklyScheduleFiresOnSundaysAtThree() {
        // 2026-11-22 is a Sunday.
        assertEquals(at("2026-11-22T03:00", UTC), next("0 3 * * SUN", "2026-11-18T12:00", UTC));
        assertEquals(at("2026-11-29T03:00", UTC), next("0 3 * * SUN", "2026-11-22T03:00", UTC));
        assertEquals(at("2026-11-22T03:00", UTC), previous("0 3 * * SUN", "2026-11-28T23:59", UTC));
        assertEquals(at("2026-11-29T03:00", UTC), next("0 3 * * 0", "2026-11-22T03:00", UTC));
        assertEquals(at("2026-11-29T03:00", UTC), next("0 3 * * 7", "2026-11-22T03:00", UTC));
        assertEquals(at("2026-11-29T03:00", UTC), next("0 3 * * sun", "2026-11-22T03:00", UTC));
    }

    @Test
    void theDefaultMonthlyScheduleFiresOnTheFirstAtFour() {
        assertEquals(at("2026-12-01T04:00", UTC), next("0 4 1 * *", "2026-11-01T04:00", UTC));
        assertEquals(at("2027-01-01T04:00", UTC), next("0 4 1 * *", "2026-12-01T04:00:01", UTC));
        assertEquals(at("2026-11-01T04:00", UTC), previous("0 4 1 * *", "2026-11-30T23:59", UTC));
        assertEquals(at("2026-10-01T04:00", UTC), previous("0 4 1 * *", "2026-11-01T03:59", UTC));
    }

    @Test
    void nextIsStrictlyAfterAndPreviousIsAtOrBefore() {
        ZonedDateTime t = at("2026-05-05T10:15", UTC);
        assertEquals(at("2026-05-05T10:30", UTC), CronExpression.parse("*/15 * * * *").next(t));
        assertEquals(t, CronExpression.parse("*/15 * * * *").previous(t));
        assertEquals(t, CronExpression.parse("*/15 * * * *").previous(t.plusSeconds(59)));
        assertEquals(at("2026-05-05T10:16", UTC), CronExpression.parse("* * * * *").next(t.plusSeconds(30)));
    }

    @Test
    void rangesNamesAndWrapsCombine() {
        // Weekdays only: Saturday 2026-03-07 and Sunday 03-08 are skipped.
        assertEquals(at("2026-03-09T08:00", UTC), next("0 8 * * mon-fri", "2026-03-06T08:00", UTC));
        // Months by name, a list mixed with a range.
        assertEquals(at("2026-06-01T00:00", UTC), next("0 0 1 jan,Jun-jul *", "2026-01-01T00:00", UTC));
        assertEquals(at("2027-01-01T00:00", UTC), next("0 0 1 jan,Jun-jul *", "2026-07-01T00:00", UTC));
        // Day-of-week 6-7 is Saturday and Sunday.
        assertEquals(at("2026-03-08T00:00", UTC), next("0 0 * * 6-7", "2026-03-07T00:00", UTC));
        assertEquals(at("2026-03-14T00:00", UTC), next("0 0 * * 6-7", "2026-03-08T00:00", UTC));
        // Names in a stepped range: MON, WED, FRI.
        assertEquals(at("2026-03-04T00:00", UTC), next("0 0 * * MON-FRI/2", "2026-03-02T00:00", UTC));
    }

    @Test
    void stepsAndListsExpandAsCronDoes() {
        List<Instant> got = fires("0,30 9-13/2,17 * * MON-FRI", at("2026-03-01T12:00", UTC), 9);
        List<Instant> want = List.of("2026-03-02T09:00", "2026-03-02T09:30", "2026-03-02T11:00", "2026-03-02T11:30",
                "2026-03-02T13:00", "2026-03-02T13:30", "2026-03-02T17:00", "2026-03-02T17:30", "2026-03-03T09:00").stream()
                .map(s -> at(s, UTC).toInstant()).toList();
        assertEquals(want, got);
    }

    @Test
    void bothDayFieldsRestrictedMatchEitherAsInVixieCron() {
        // The 13th, or any Friday. 2026-03-13 is a Friday; 2026-03-06 and 03-20 are Fridays.
        List<Instant> got = fires("0 0 13 * FRI", at("2026-03-01T00:00", UTC), 4);
        List<Instant> want = List.of("2026-03-06T00:00", "2026-03-13T00:00", "2026-03-20T00:00", "2026-03-27T00:00").stream()
                .map(s -> at(s, UTC).toInstant()).toList();
        assertEquals(want, got);
        assertEquals(at("2026-04-01T00:00", UTC), next("0 0 1,13 * 5", "2026-03-27T00:00", UTC));
        assertEquals(at("2026-04-02T00:00", UTC), next("0 0 13 * 4", "2026-03-27T00:00", UTC));
        // A day-of-month beginning with '*' leaves the day-of-week alone in charge (AND).
        assertEquals(at("2026-03-06T00:00", UTC), next("0 0 * * 5", "2026-03-01T00:00", UTC));
        assertEquals(at("2026-05-01T00:00", UTC), next("0 0 */31 * FRI", "2026-03-01T00:00", UTC));
    }

    @Test
    void leapDaysFireOnlyInLeapYears() {
        assertEquals(at("2028-02-29T00:00", UTC), next("0 0 29 2 *", "2024-02-29T00:00", UTC));
        assertEquals(at("2024-02-29T00:00", UTC), previous("0 0 29 2 *", "2028-02-28T23:59", UTC));
        // 2100 is not a leap year: eight years from 2096 to 2104.
        assertEquals(at("2104-02-29T00:00", UTC), next("0 0 29 2 *", "2096-03-01T00:00", UTC));
        assertEquals(at("2096-02-29T00:00", UTC), previous("0 0 29 2 *", "2104-02-28T00:00", UTC));
        // The 31st skips the short months.
        assertEquals(at("2026-05-31T00:00", UTC), next("0 0 31 * *", "2026-03-31T00:00", UTC));
        assertEquals(at("2026-03-31T00:00", UTC), previous("0 0 31 * *", "2026-05-30T00:00", UTC));
    }

    @Test
    void macrosStandForTheirExpressions() {
        assertEquals(CronExpression.parse("0 0 * * *"), CronExpression.parse("@daily"));
        assertEquals(CronExpression.parse("0 0 * * 0"), CronExpression.parse("@WEEKLY"));
        assertEquals(CronExpression.parse("0 0 1 * *"), CronExpression.parse("@monthly"));
        assertEquals(CronExpression.parse("0 * * * *"), CronExpression.parse("@hourly"));
        assertEquals(at("2026-11-29T00:00", UTC), next("@weekly", "2026-11-22T00:00", UTC));
        assertEquals("@daily", CronExpression.parse("@daily").toString());
    }

    @Test
    void springForwardInBerlinFiresOnceAtTheEndOfTheGap() {
        // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist.
        ZonedDateTime fire = next("30 2 * * *", "2026-03-29T01:00", BERLIN);
        assertEquals(Instant.parse("2026-03-29T01:00:00Z"), fire.toInstant());
        assertEquals(at("2026-03-29T03:00", BERLIN), fire);
        assertEquals(at("2026-03-30T02:30", BERLIN), CronExpression.parse("30 2 * * *").next(fire));
        assertEquals(fire, previous("30 2 * * *", "2026-03-29T12:00", BERLIN));
        // Every quarter hour of the missing hour, and 03:00 itself, fire once together.
        List<Instant> got = fires("*/15 2-3 * * *", at("2026-03-29T01:00", BERLIN), 4);
        assertEquals(List.of(Instant.parse("2026-03-29T01:00:00Z"), Instant.parse("2026-03-29T01:15:00Z"),
                Instant.parse("2026-03-29T01:30:00Z"), Instant.parse("2026-03-29T01:45:00Z")), got);
        // Times outside the gap are not moved.
        assertEquals(Instant.parse("2026-03-29T00:59:00Z"), next("59 1 * * *", "2026-03-29T00:00", BERLIN).toInstant());
    }

    @Test
    void fallBackInBerlinFiresOnceAtTheEarlierOffset() {
        // 2026-10-25: 03:00 CEST goes back to 02:00 CET; 02:30 happens twice.
        ZonedDateTime fire = next("30 2 * * *", "2026-10-25T00:00", BERLIN);
        assertEquals(Instant.parse("2026-10-25T00:30:00Z"), fire.toInstant());
        ZonedDateTime after = CronExpression.parse("30 2 * * *").next(fire);
        assertEquals(at("2026-10-26T02:30", BERLIN), after);
        // Asked during the second pass: the slot already fired in the first.
        ZonedDateTime secondPass = ZonedDateTime.ofInstant(Instant.parse("2026-10-25T01:45:00Z"), BERLIN);
        assertEquals(at("2026-10-26T02:30", BERLIN), CronExpression.parse("30 2 * * *").next(secondPass));
        assertEquals(fire, CronExpression.parse("30 2 * * *").previous(secondPass));
        // Hourly across the change: 02:00 and 02:30 once each, then 03:00 CET.
        List<Instant> got = fires("0,30 * * * *", at("2026-10-25T01:30", BERLIN), 5);
        assertEquals(List.of("2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z", "2026-10-25T02:30:00Z",
                "2026-10-25T03:00:00Z").stream().map(Instant::parse).toList(), got);
        // previous() in the second pass returns the latest first-pass time, not an earlier one.
        assertEquals(Instant.parse("2026-10-25T00:59:00Z"),
                CronExpression.parse("* * * * *").previous(ZonedDateTime.ofInstant(Instant.parse("2026-10-25T01:10:00Z"), BERLIN))
                        .toInstant());
    }

    @Test
    void newYorkDstChangesAtTwoInTheMorning() {
        // 2026-03-08: 02:00 EST jumps to 03:00 EDT.
        assertEquals(Instant.parse("2026-03-08T07:00:00Z"), next("0 2 * * *", "2026-03-07T12:00", NEW_YORK).toInstant());
        assertEquals(Instant.parse("2026-03-09T06:00:00Z"), next("0 2 * * *", "2026-03-08T12:00", NEW_YORK).toInstant());
        // 2026-11-01: 02:00 EDT goes back to 01:00 EST; 01:30 happens twice and fires at 05:30Z only.
        assertEquals(Instant.parse("2026-11-01T05:30:00Z"), next("30 1 * * *", "2026-10-31T12:00", NEW_YORK).toInstant());
        assertEquals(Instant.parse("2026-11-02T06:30:00Z"), next("30 1 * * *", "2026-11-01T05:30:00", NEW_YORK).toInstant());
        // The default schedules keep their wall-clock times on both sides.
        assertEquals(at("2026-11-01T03:00", NEW_YORK), next("0 3 * * SUN", "2026-10-31T12:00", NEW_YORK));
        assertEquals(Instant.parse("2026-11-01T08:00:00Z"), next("0 3 * * SUN", "2026-10-31T12:00", NEW_YORK).toInstant());
    }

    @Test
    void nextAndPreviousAgreeAroundEveryDstChange() {
        for (ZoneId zone : List.of(BERLIN, NEW_YORK, ZoneId.of("Australia/Lord_Howe"))) {
            for (String cron : List.of("*/10 * * * *", "30 2 * * *", "0 1-3 * * *", "15 * * * *")) {
                CronExpression c = CronExpression.parse(cron);
                ZonedDateTime t = c.previous(at("2026-01-01T00:00", zone));
                ZonedDateTime end = at("2027-01-01T00:00", zone);
                while (t.isBefore(end)) {
                    ZonedDateTime n = c.next(t);
                    assertTrue(n.isAfter(t), zone + " " + cron + " " + t);
                    assertEquals(n.toInstant(), c.previous(n).toInstant(), zone + " " + cron + " " + n);
                    assertEquals(t.toInstant(), c.previous(n.minusSeconds(1)).toInstant(), zone + " " + cron + " " + n);
                    t = n;
                }
            }
        }
    }

    @Test
    void searchIsBoundedForRareExpressions() {
        CronExpression c = CronExpression.parse("0 0 29 2 MON");
        assertEquals(at("2026-02-02T00:00", UTC), c.next(at("2026-01-01T00:00", UTC)));
        CronExpression rare = CronExpression.parse("0 0 */31 2 MON");
        ZonedDateTime t = rare.next(at("2022-01-01T00:00", UTC));
        assertEquals(at("2027-02-01T00:00", UTC), t);
    }

    @Test
    void invalidExpressionsNameTheFieldAndTheReason() {
        assertEquals("field 2 (hour): 24 is out of range 0-23", parseError("0 24 * * *"));
        assertEquals("field 1 (minute): 60 is out of range 0-59", parseError("60 * * * *"));
        assertEquals("field 3 (day-of-month): 0 is out of range 1-31", parseError("0 0 0 * *"));
        assertEquals("field 4 (month): 13 is out of range 1-12", parseError("0 0 1 13 *"));
        assertEquals("field 5 (day-of-week): 8 is out of range 0-7", parseError("0 0 * * 8"));
        assertEquals("field 5 (day-of-week): 'FUN' is neither a number 0-7 nor a name SUN-SAT", parseError("0 0 * * FUN"));
        assertEquals("field 4 (month): 'JANUARY' is neither a number 1-12 nor a name JAN-DEC", parseError("0 0 * JANUARY *"));
        assertEquals("field 1 (minute): 'x' is not a number 0-59", parseError("x * * * *"));
        assertEquals("field 2 (hour): range 5-3 runs backwards (5 > 3)", parseError("0 5-3 * * *"));
        assertEquals("field 1 (minute): step 0 is out of range 1-59", parseError("*/0 * * * *"));
        assertEquals("field 1 (minute): step 'a' in '*/a' is not a number", parseError("*/a * * * *"));
        assertEquals("field 1 (minute): a step needs '*' or a range before it, not '5/10'", parseError("5/10 * * * *"));
        assertEquals("field 2 (hour): empty list element in '1,,2'", parseError("0 1,,2 * * *"));
        assertEquals("expected 5 fields (minute hour day-of-month month day-of-week), got 4", parseError("0 2 * *"));
        assertEquals("expected 5 fields (minute hour day-of-month month day-of-week), got 6", parseError("0 0 2 * * *"));
        assertEquals("expected 5 fields (minute hour day-of-month month day-of-week), got 0", parseError("   "));
        assertTrue(parseError("@reboot").startsWith("unknown macro '@reboot'"));
        assertEquals("fields 3 and 4 (day-of-month, month): the expression never fires (no month in '2' has day '30-31')",
                parseError("0 0 30-31 2 *"));
        assertEquals("fields 3 and 4 (day-of-month, month): the expression never fires (no month in 'APR,jun' has day '31')",
                parseError("0 0 31 APR,jun *"));
        // A restricted day-of-week rescues an impossible day-of-month (either matches).
        assertEquals(at("2026-02-02T00:00", UTC), next("0 0 30 2 MON", "2026-01-31T00:00", UTC));
    }

    @Test
    void theConfigurationReaderUsesItAsItsCronCheck(@TempDir Path dir) throws Exception {
        Consumer<String> check = CronExpression::parse;
        Path ok = dir.resolve("ok.yaml");
        // The example of docs/controller.md "Schedules".
        Files.writeString(ok, """
                policies:
                  default:                                  # covers every source no other policy covers
                    time_zone: Europe/Berlin                # default UTC
                    jitter: 10m                             # default 5m; 0s to 6h
                    schedule:                               # tag -> cron, or tag -> {cron, type}
                      daily: "0 2 * * *"
                      weekly: { cron: "0 3 * * SUN", type: full }
                      monthly: "0 4 1 * *"
                  reporting:
                    sources: ["db2/*", "*/reports"]         # host/source globs, '*' within one part; first match wins
                    time_zone: America/New_York
                    schedule: { nightly: "30 1 * * *", hourly_incr: { cron: "@hourly", type: incr } }
                """);
        ControllerConfig c = ControllerConfig.load(ok, check);
        ControllerConfig.Policy dflt = c.policyFor("db1", "main");
        assertEquals("default", dflt.name());
        assertEquals(BERLIN, dflt.timeZone());
        assertEquals(java.time.Duration.ofMinutes(10), dflt.jitter());
        assertEquals("incr", dflt.schedules().get("daily").type());
        assertEquals("full", dflt.schedules().get("monthly").type());
        ControllerConfig.Policy reporting = c.policyFor("db1", "reports");
        assertEquals("reporting", reporting.name());
        assertEquals(reporting, c.policyFor("db2", "main"));
        assertEquals("full", reporting.schedules().get("nightly").type());
        assertEquals("incr", reporting.schedules().get("hourly_incr").type());
        assertEquals("@hourly", reporting.schedules().get("hourly_incr").cron());
        Path bad = dir.resolve("bad.yaml");
        Files.writeString(bad, """
                policies:
                  default:
                    schedule: { daily: "0 24 * * *" }
                """);
        Exception e = assertThrows(RuntimeException.class, () -> ControllerConfig.load(bad, check));
        assertTrue(e.getMessage().contains("field 2 (hour): 24 is out of range 0-23"), e.getMessage());
    }
}
