package dev.holdfast.controller.schedule;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A classic 5-field cron expression: {@code minute hour day-of-month month day-of-week}.
 *
 * <p>Syntax per field: {@code *}, a number, a range {@code a-b}, a step {@code *}{@code /n} or
 * {@code a-b/n}, and comma-separated lists of these. Months take {@code JAN}..{@code DEC}, days
 * of the week {@code SUN}..{@code SAT} (case-insensitive); day-of-week 0 and 7 both mean Sunday.
 * The macros {@code @hourly}, {@code @daily} (alias {@code @midnight}), {@code @weekly},
 * {@code @monthly} and {@code @yearly} (alias {@code @annually}) stand for their usual
 * expressions. Day fields follow Vixie cron: when both day-of-month and day-of-week are
 * restricted (neither begins with {@code *}), a day matches if <em>either</em> matches;
 * otherwise both must (so {@code 0 3 * * SUN} is Sundays only).
 *
 * <p>Time zones: fields are read as wall-clock time in the zone of the {@link ZonedDateTime}
 * passed in. A wall-clock time that does not exist (inside a spring-forward gap) fires at the
 * first instant after the gap, once however many matching times the gap swallowed. A wall-clock
 * time that occurs twice (inside a fall-back overlap) fires once, at its first occurrence (the
 * earlier offset). Fire instants are therefore strictly increasing and {@link #next} and
 * {@link #previous} agree with each other.
 *
 * <p>Cost: the search steps by month and by day and picks hour and minute from bit sets, so it
 * does a few dozen steps for usual expressions and a few thousand at most; it never scans minute
 * by minute. {@link #parse} rejects expressions that can never fire (such as {@code 0 0 30 2 *}),
 * so every parsed expression has a fire time within {@value #SEARCH_YEARS} years of any instant.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class CronExpression {
    /**
     * The search horizon, well beyond the longest wait of any parseable expression (8 years for
     * {@code 0 0 29 2 *} across 2100, about a dozen for {@code 0 0 *}{@code /31 2 MON}, February 1st on a Monday).
     */
    static final int SEARCH_YEARS = 30;

    private static final Map<String, String> MACROS = Map.of(
            "@hourly", "0 * * * *",
            "@daily", "0 0 * * *",
            "@midnight", "0 0 * * *",
            "@weekly", "0 0 * * 0",
            "@monthly", "0 0 1 * *",
            "@yearly", "0 0 1 1 *",
            "@annually", "0 0 1 1 *");
    private static final List<String> MONTHS = List.of("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
            "NOV", "DEC");
    private static final List<String> DAYS = List.of("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT");
    /** Days in each month at most (February 29 in leap years), index 1..12. */
    private static final int[] MAX_DAYS = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    private final String text;
    private final BitSet minutes;
    private final BitSet hours;
    private final BitSet daysOfMonth;
    private final BitSet months;
    /** 0 = Sunday .. 6 = Saturday (7 is folded into 0 when parsing). */
    private final BitSet daysOfWeek;
    /** Vixie's rule: a day field beginning with '*' is unrestricted, and the day fields are then ANDed. */
    private final boolean dayOfMonthStar;
    private final boolean dayOfWeekStar;

    private CronExpression(String text, BitSet minutes, BitSet hours, BitSet daysOfMonth, BitSet months, BitSet daysOfWeek,
                           boolean dayOfMonthStar, boolean dayOfWeekStar) {
        this.text = text;
        this.minutes = minutes;
        this.hours = hours;
        this.daysOfMonth = daysOfMonth;
        this.months = months;
        this.daysOfWeek = daysOfWeek;
        this.dayOfMonthStar = dayOfMonthStar;
        this.dayOfWeekStar = dayOfWeekStar;
    }

    /**
     * Parses an expression.
     *
     * @throws IllegalArgumentException naming the field and what is wrong with it, for example
     *                                  {@code field 2 (hour): 24 is out of range 0-23}
     */
    public static CronExpression parse(String expression) {
        Objects.requireNonNull(expression, "expression");
        String text = expression.trim();
        String body = text;
        if (text.startsWith("@")) {
            body = MACROS.get(text.toLowerCase(Locale.ROOT));
            if (body == null) {
                throw new IllegalArgumentException("unknown macro '" + text + "' (expected one of @hourly, @daily, @midnight,"
                        + " @weekly, @monthly, @yearly, @annually)");
            }
        }
        String[] f = body.isEmpty() ? new String[0] : body.split("\\s+");
        if (f.length != 5) {
            throw new IllegalArgumentException("expected 5 fields (minute hour day-of-month month day-of-week), got " + f.length);
        }
        BitSet minutes = field(f[0], 1, "minute", 0, 59, null);
        BitSet hours = field(f[1], 2, "hour", 0, 23, null);
        BitSet dom = field(f[2], 3, "day-of-month", 1, 31, null);
        BitSet months = field(f[3], 4, "month", 1, 12, MONTHS);
        BitSet dow = field(f[4], 5, "day-of-week", 0, 7, DAYS);
        if (dow.get(7)) {
            dow.clear(7);
            dow.set(0);
        }
        boolean domStar = f[2].startsWith("*");
        boolean dowStar = f[4].startsWith("*");
        CronExpression c = new CronExpression(text, minutes, hours, dom, months, dow, domStar, dowStar);
        if (domStar || !dowStar) {
            // Some day of every matched month matches (every day, or the day-of-week alternative).
            return c;
        }
        for (int m = months.nextSetBit(1); m >= 0; m = months.nextSetBit(m + 1)) {
            int d = dom.nextSetBit(1);
            if (d >= 0 && d <= MAX_DAYS[m]) {
                return c;
            }
        }
        throw new IllegalArgumentException("fields 3 and 4 (day-of-month, month): the expression never fires (no month "
                + "in '" + f[3] + "' has day '" + f[2] + "')");
    }

    /** One field: a comma-separated list of {@code *}, {@code n}, {@code a-b}, each optionally {@code /step}. */
    private static BitSet field(String s, int index, String name, int min, int max, List<String> names) {
        String where = "field " + index + " (" + name + "): ";
        BitSet bits = new BitSet(max + 1);
        for (String item : s.split(",", -1)) {
            if (item.isEmpty()) {
                throw new IllegalArgumentException(where + "empty list element in '" + s + "'");
            }
            String range = item;
            int step = 1;
            int slash = item.indexOf('/');
            if (slash >= 0) {
                range = item.substring(0, slash);
                String st = item.substring(slash + 1);
                if (!st.matches("[0-9]{1,4}")) {
                    throw new IllegalArgumentException(where + "step '" + st + "' in '" + item + "' is not a number");
                }
                step = Integer.parseInt(st);
                if (step < 1 || step > max) {
                    throw new IllegalArgumentException(where + "step " + step + " is out of range 1-" + max);
                }
                if (!range.equals("*") && range.indexOf('-') < 0) {
                    throw new IllegalArgumentException(where + "a step needs '*' or a range before it, not '" + item + "'");
                }
            }
            int lo;
            int hi;
            if (range.equals("*")) {
                lo = min;
                // '*' in day-of-week means 0-6: 7 would only repeat Sunday.
                hi = names == DAYS ? 6 : max;
            } else {
                int dash = range.indexOf('-');
                if (dash >= 0) {
                    lo = value(range.substring(0, dash), where, min, max, names);
                    hi = value(range.substring(dash + 1), where, min, max, names);
                    if (lo > hi) {
                        throw new IllegalArgumentException(where + "range " + range + " runs backwards (" + lo + " > " + hi + ")");
                    }
                } else {
                    lo = value(range, where, min, max, names);
                    hi = lo;
                }
            }
            for (int v = lo; v <= hi; v += step) {
                bits.set(v);
            }
        }
        return bits;
    }

    private static int value(String s, String where, int min, int max, List<String> names) {
        if (s.matches("[0-9]{1,4}")) {
            int v = Integer.parseInt(s);
            if (v < min || v > max) {
                throw new IllegalArgumentException(where + v + " is out of range " + min + "-" + max);
            }
            return v;
        }
        if (names != null) {
            int i = names.indexOf(s.toUpperCase(Locale.ROOT));
            if (i >= 0) {
                return names == MONTHS ? i + 1 : i;
            }
            throw new IllegalArgumentException(where + "'" + s + "' is neither a number " + min + "-" + max + " nor a name "
                    + names.get(0) + "-" + names.get(names.size() - 1));
        }
        throw new IllegalArgumentException(where + "'" + s + "' is not a number " + min + "-" + max);
    }

    /** The expression as written (a macro stays a macro). */
    public String text() {
        return text;
    }

    /**
     * The first fire time strictly after {@code after}, in {@code after}'s zone.
     *
     * @throws IllegalStateException never for a parsed expression (the search is bounded to {@value #SEARCH_YEARS} years)
     */
    public ZonedDateTime next(ZonedDateTime after) {
        ZoneId zone = after.getZone();
        ZoneRules rules = zone.getRules();
        Instant x = after.toInstant();
        LocalDateTime local = after.toLocalDateTime().truncatedTo(ChronoUnit.MINUTES);
        // Every wall-clock time up to and including 'local' fires at or before 'after'. In the
        // second pass of a fall-back overlap so does every time up to the overlap's end, since
        // those fired during the first pass.
        LocalDateTime from = local.plusMinutes(1);
        if (inSecondPass(rules, local, x)) {
            LocalDateTime end = rules.getTransition(local).getDateTimeBefore();
            if (end.isAfter(from)) {
                from = end;
            }
        }
        LocalDateTime limit = from.plusYears(SEARCH_YEARS);
        while (true) {
            LocalDateTime l = nextLocal(from, limit);
            if (l == null) {
                throw new IllegalStateException("cron '" + text + "' does not fire within " + SEARCH_YEARS + " years after " + after);
            }
            Instant fire = fireInstant(rules, l);
            if (fire.isAfter(x)) {
                return ZonedDateTime.ofInstant(fire, zone);
            }
            // Only reached for gap times mapped to a gap end at or before 'after'.
            from = l.plusMinutes(1);
        }
    }

    /**
     * The last fire time at or before {@code atOrBefore}, in its zone: the slot a scheduler that
     * looks at the clock now is due to have run.
     *
     * @throws IllegalStateException never for a parsed expression (the search is bounded to {@value #SEARCH_YEARS} years)
     */
    public ZonedDateTime previous(ZonedDateTime atOrBefore) {
        ZoneId zone = atOrBefore.getZone();
        ZoneRules rules = zone.getRules();
        Instant x = atOrBefore.toInstant();
        LocalDateTime to = atOrBefore.toLocalDateTime().truncatedTo(ChronoUnit.MINUTES);
        if (inSecondPass(rules, to, x)) {
            // Every overlap time fired during the first pass, before 'x'.
            to = rules.getTransition(to).getDateTimeBefore().minusMinutes(1);
        }
        LocalDateTime limit = to.minusYears(SEARCH_YEARS);
        while (true) {
            LocalDateTime l = previousLocal(to, limit);
            if (l == null) {
                throw new IllegalStateException("cron '" + text + "' does not fire within " + SEARCH_YEARS + " years before "
                        + atOrBefore);
            }
            Instant fire = fireInstant(rules, l);
            if (!fire.isAfter(x)) {
                return ZonedDateTime.ofInstant(fire, zone);
            }
            to = l.minusMinutes(1);
        }
    }

    /** Whether instant {@code x}, whose wall-clock time is {@code local}, is the second occurrence of that time. */
    private static boolean inSecondPass(ZoneRules rules, LocalDateTime local, Instant x) {
        List<java.time.ZoneOffset> offsets = rules.getValidOffsets(local);
        return offsets.size() == 2 && rules.getOffset(x).equals(offsets.get(1));
    }

    /**
     * When wall-clock time {@code l} fires: its only instant; the first of two in an overlap; the
     * end of the gap for a time that does not exist.
     */
    private static Instant fireInstant(ZoneRules rules, LocalDateTime l) {
        List<java.time.ZoneOffset> offsets = rules.getValidOffsets(l);
        if (offsets.isEmpty()) {
            ZoneOffsetTransition gap = rules.getTransition(l);
            return gap.getInstant();
        }
        return l.toInstant(offsets.get(0));
    }

    /** The first matching wall-clock time at or after {@code from}, or null if none up to {@code limit}. */
    private LocalDateTime nextLocal(LocalDateTime from, LocalDateTime limit) {
        LocalDate date = from.toLocalDate();
        LocalTime time = from.toLocalTime();
        LocalDate last = limit.toLocalDate();
        while (!date.isAfter(last)) {
            if (!months.get(date.getMonthValue())) {
                date = date.withDayOfMonth(1).plusMonths(1);
                time = LocalTime.MIDNIGHT;
                continue;
            }
            if (dayMatches(date)) {
                LocalTime t = firstTimeAtOrAfter(time);
                if (t != null) {
                    return date.atTime(t);
                }
            }
            date = date.plusDays(1);
            time = LocalTime.MIDNIGHT;
        }
        return null;
    }

    /** The last matching wall-clock time at or before {@code to}, or null if none down to {@code limit}. */
    private LocalDateTime previousLocal(LocalDateTime to, LocalDateTime limit) {
        LocalDate date = to.toLocalDate();
        LocalTime time = to.toLocalTime();
        LocalDate first = limit.toLocalDate();
        while (!date.isBefore(first)) {
            if (!months.get(date.getMonthValue())) {
                date = date.withDayOfMonth(1).minusDays(1);
                time = LocalTime.of(23, 59);
                continue;
            }
            if (dayMatches(date)) {
                LocalTime t = lastTimeAtOrBefore(time);
                if (t != null) {
                    return date.atTime(t);
                }
            }
            date = date.minusDays(1);
            time = LocalTime.of(23, 59);
        }
        return null;
    }

    private boolean dayMatches(LocalDate date) {
        boolean dom = daysOfMonth.get(date.getDayOfMonth());
        boolean dow = daysOfWeek.get(date.getDayOfWeek() == DayOfWeek.SUNDAY ? 0 : date.getDayOfWeek().getValue());
        return dayOfMonthStar || dayOfWeekStar ? dom && dow : dom || dow;
    }

    private LocalTime firstTimeAtOrAfter(LocalTime t) {
        int h = hours.nextSetBit(t.getHour());
        if (h < 0) {
            return null;
        }
        if (h == t.getHour()) {
            int m = minutes.nextSetBit(t.getMinute());
            if (m >= 0) {
                return LocalTime.of(h, m);
            }
            h = hours.nextSetBit(h + 1);
            if (h < 0) {
                return null;
            }
        }
        return LocalTime.of(h, minutes.nextSetBit(0));
    }

    private LocalTime lastTimeAtOrBefore(LocalTime t) {
        int h = hours.previousSetBit(t.getHour());
        if (h < 0) {
            return null;
        }
        if (h == t.getHour()) {
            int m = minutes.previousSetBit(t.getMinute());
            if (m >= 0) {
                return LocalTime.of(h, m);
            }
            h = hours.previousSetBit(h - 1);
            if (h < 0) {
                return null;
            }
        }
        return LocalTime.of(h, minutes.previousSetBit(59));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CronExpression c && minutes.equals(c.minutes) && hours.equals(c.hours)
                && daysOfMonth.equals(c.daysOfMonth) && months.equals(c.months) && daysOfWeek.equals(c.daysOfWeek)
                && dayOfMonthStar == c.dayOfMonthStar && dayOfWeekStar == c.dayOfWeekStar;
    }

    @Override
    public int hashCode() {
        return Objects.hash(minutes, hours, daysOfMonth, months, daysOfWeek, dayOfMonthStar, dayOfWeekStar);
    }

    @Override
    public String toString() {
        return text;
    }
}
