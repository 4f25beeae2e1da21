package dev.holdfast.controller.verify;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.holdfast.controller.schedule.CronExpression;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DataSampleTest {
    static final List<DataSample.Pack> PACKS = List.of(new DataSample.Pack("c", 30), new DataSample.Pack("a", 10),
            new DataSample.Pack("b", 20), new DataSample.Pack("d", 40));

    static List<String> keys(DataSample.Selection s) {
        return s.packs().stream().map(DataSample.Pack::key).toList();
    }

    @Test
    void aRunTakesPacksAfterTheCursorInKeyOrderUntilTheBudgetIsRead() {
        DataSample.Selection first = DataSample.choose(PACKS, Optional.empty(), 25);
        assertEquals(List.of("a", "b"), keys(first));
        assertEquals(Optional.of("b"), first.cursor());
        DataSample.Selection second = DataSample.choose(PACKS, first.cursor(), 25);
        assertEquals(List.of("c"), keys(second));
        assertEquals(List.of("d", "a"), keys(DataSample.choose(PACKS, second.cursor().map(c -> "c"), 45)), "wraps around");
    }

    @Test
    void aCursorBetweenKeysOrPastTheLastStartsAtTheNextOrTheFirst() {
        assertEquals(List.of("c"), keys(DataSample.choose(PACKS, Optional.of("bb"), 1)), "a removed pack's key still orders");
        assertEquals(List.of("a"), keys(DataSample.choose(PACKS, Optional.of("z"), 1)));
        assertEquals(List.of("a", "b", "c", "d"), keys(DataSample.choose(PACKS, Optional.of("b"), 1_000)).stream().sorted().toList(),
                "never more than every pack once");
        assertEquals(List.of(), keys(DataSample.choose(List.of(), Optional.of("b"), 10)));
    }

    @Test
    void theBudgetSpreadsTheTotalOverAllButOneRunOfThePeriod() {
        assertEquals(100, DataSample.budget(100, 1), "fewer than two runs: everything");
        assertEquals(100, DataSample.budget(100, 2));
        assertEquals(17, DataSample.budget(100, 7), "ceil(100 / 6)");
        assertEquals(1, DataSample.budget(0, 30));
    }

    @Test
    void runsWithinCountsTheFireTimesInThePeriod() {
        CronExpression daily = CronExpression.parse("0 5 * * *");
        assertEquals(7, DataSample.runsWithin(daily, ZoneId.of("UTC"), Instant.parse("2026-11-24T05:00:00Z"), Duration.ofDays(7)));
        assertEquals(7, DataSample.runsWithin(daily, ZoneId.of("UTC"), Instant.parse("2026-11-24T04:59:00Z"), Duration.ofDays(7)));
        assertEquals(0, DataSample.runsWithin(CronExpression.parse("0 5 1 * *"), ZoneId.of("UTC"), Instant.parse("2026-11-24T05:00:00Z"),
                Duration.ofDays(5)));
    }
}
