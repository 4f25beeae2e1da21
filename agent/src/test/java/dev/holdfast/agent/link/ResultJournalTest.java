package dev.holdfast.agent.link;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.protocol.v1.JobResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Job results outlive an agent restart, for a week and at most a hundred of them; a damaged tail loses only itself. */
class ResultJournalTest {
    @TempDir
    Path dir;

    private static JobResult result(String id, Instant finished) {
        return JobResult.newBuilder().setJobId(id).setOk(true).setBackupId("b-" + id).setFinishedAtMs(finished.toEpochMilli()).build();
    }

    @Test
    void resultsSurviveARestartWithinTheirRetention() throws Exception {
        Instant now = Instant.parse("2026-11-24T09:00:00Z");
        Clock clock = Clock.fixed(now, ZoneOffset.UTC);
        ResultJournal j = new ResultJournal(dir, clock);
        j.write(j.add(result("old", now.minus(ResultJournal.RETENTION).minusSeconds(1))));
        j.write(j.add(result("a", now.minusSeconds(60))));
        j.write(j.add(result("b", now)));
        ResultJournal reopened = new ResultJournal(dir, clock);
        assertEquals(List.of("a", "b"), reopened.all().stream().map(JobResult::getJobId).toList(), "the week-old one is gone");
        assertEquals("b-a", reopened.get("a").orElseThrow().getBackupId());
        assertTrue(reopened.get("old").isEmpty());
    }

    @Test
    void atMostAHundredAreKeptAndADamagedTailCostsOnlyItself() throws Exception {
        Instant now = Instant.parse("2026-11-24T09:00:00Z");
        ResultJournal j = new ResultJournal(dir, Clock.fixed(now, ZoneOffset.UTC));
        byte[] last = null;
        for (int i = 0; i < ResultJournal.MAX + 5; i++) {
            last = j.add(result("j" + i, now.minus(Duration.ofSeconds(1000 - i))));
        }
        j.write(last);
        assertEquals(ResultJournal.MAX, j.all().size());
        assertEquals("j5", j.all().get(0).getJobId(), "the oldest went first");
        byte[] bytes = Files.readAllBytes(dir.resolve("job-results.pb"));
        Files.write(dir.resolve("job-results.pb"), java.util.Arrays.copyOf(bytes, bytes.length - 3));
        assertEquals(ResultJournal.MAX - 1, new ResultJournal(dir, Clock.fixed(now, ZoneOffset.UTC)).all().size());
    }
}
