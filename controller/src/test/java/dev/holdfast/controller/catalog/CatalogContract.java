package dev.holdfast.controller.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The catalog contract: every store (embedded H2, PostgreSQL) passes this same suite. A subclass
 * provides a fresh store per test and opens it; opening the same store again must find the data.
 */
abstract class CatalogContract {
    static final Instant T0 = Instant.parse("2026-11-24T08:00:00.123456Z");
    static Vertx vertx;
    Catalog catalog;

    /** Prepares a fresh, empty store for this test. */
    abstract void newStore() throws Exception;

    /** Opens the current test's store (again). */
    abstract Future<Catalog> open();

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() throws Exception {
        await(vertx.close());
    }

    @BeforeEach
    void openStore() throws Exception {
        newStore();
        catalog = await(open());
    }

    @AfterEach
    void closeStore() {
        if (catalog != null) {
            catalog.close();
        }
    }

    static <T> T await(Future<T> f) throws Exception {
        try {
            return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception x) {
                throw x;
            }
            throw e;
        }
    }

    static HoldfastException failure(Future<?> f) {
        return assertThrows(HoldfastException.class, () -> await(f));
    }

    static Instant t(long seconds) {
        return T0.plusSeconds(seconds);
    }

    /** Every page of a list, following the cursors. */
    static <T> List<List<T>> pages(Function<PageRequest, Future<Page<T>>> list, int limit) throws Exception {
        List<List<T>> out = new ArrayList<>();
        Optional<String> cursor = Optional.empty();
        do {
            Page<T> p = await(list.apply(new PageRequest(cursor, limit)));
            out.add(p.items());
            cursor = p.next();
        } while (cursor.isPresent());
        return out;
    }

    static <T> List<T> flat(List<List<T>> pages) {
        return pages.stream().flatMap(List::stream).toList();
    }

    /** Runs {@code n} calls started at once on one event-loop context, and waits for them all. */
    static <T> List<T> concurrently(int n, Function<Integer, Future<T>> call) throws Exception {
        Promise<List<T>> done = Promise.promise();
        vertx.getOrCreateContext().runOnContext(v -> {
            List<Future<T>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                fs.add(call.apply(i));
            }
            Future.all(fs).onComplete(ar -> {
                if (ar.failed()) {
                    done.fail(ar.cause());
                } else {
                    List<T> out = new ArrayList<>();
                    fs.forEach(f -> out.add(f.result()));
                    done.complete(out);
                }
            });
        });
        return await(done.future());
    }

    static AgentRecord agent(String host, int n) {
        return new AgentRecord(host, "0.1." + n, List.of("backup.full", "backup.incr", "wal.stream"), t(n), Optional.of(t(n + 1)), n % 2 == 0,
                "0a1b" + n, t(86400 + n));
    }

    static JobRecord job(String id, String host, JobState state, Instant created) {
        return new JobRecord(id, host, "main", "backup", "full", "daily", state, "schedule", "scheduler", Optional.of(created.minusSeconds(1)),
                created, Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(), Optional.empty(), Optional.empty(),
                Map.of());
    }

    static BackupRecord backup(String source, String id, Optional<Instant> started, String state) {
        return new BackupRecord(source, "7300000000000000001", id, "db1", id.endsWith("incr") ? "incr" : "full", "daily", state, started,
                started.map(s -> s.plusSeconds(60)), "0/3000028", "0/3000138", 1, id.endsWith("incr") ? Optional.of("20261123T090000Z-full")
                : Optional.empty(), 1_554_000_000L, 210_000_000L, Optional.of("job-" + id));
    }

    // ---- agents ----

    @Test
    void anAgentIsInsertedReplacedAndSeen() throws Exception {
        assertEquals(Optional.empty(), await(catalog.agent("db1")));
        await(catalog.upsertAgent(agent("db1", 1)));
        assertEquals(Optional.of(agent("db1", 1)), await(catalog.agent("db1")));

        AgentRecord changed = new AgentRecord("db1", "0.2.0", List.of(), t(1), Optional.empty(), true, "ff", t(99));
        await(catalog.upsertAgent(changed));
        assertEquals(Optional.of(changed), await(catalog.agent("db1")));

        await(catalog.agentSeen("db1", false, t(500)));
        AgentRecord seen = await(catalog.agent("db1")).orElseThrow();
        assertFalse(seen.connected());
        assertEquals(Optional.of(t(500)), seen.lastSeen());
        await(catalog.agentSeen("nobody", true, t(500)));
        assertEquals(Optional.empty(), await(catalog.agent("nobody")), "agentSeen of an unknown host is a no-op");

        await(catalog.agentSeen("db1", true, t(600)));
        await(catalog.upsertAgent(new AgentRecord("db2", "0.2.0", List.of(), t(1), Optional.empty(), true, "fe", t(99))));
        await(catalog.disconnectAll());
        assertFalse(await(catalog.agent("db1")).orElseThrow().connected());
        assertFalse(await(catalog.agent("db2")).orElseThrow().connected());
        assertEquals(Optional.of(t(600)), await(catalog.agent("db1")).orElseThrow().lastSeen(), "the last-seen time stays");
    }

    @Test
    void agentsArePagedInHostOrderWithoutSkipsOrRepeats() throws Exception {
        List<String> hosts = new ArrayList<>(List.of("db1", "db2", "db3", "db4", "db5", "db6", "db7", "app", "zeta"));
        Collections.shuffle(hosts, new java.util.Random(7));
        for (int i = 0; i < hosts.size(); i++) {
            await(catalog.upsertAgent(agent(hosts.get(i), i)));
        }
        List<List<AgentRecord>> pages = pages(catalog::agents, 4);
        assertEquals(List.of(4, 4, 1), pages.stream().map(List::size).toList());
        assertEquals(List.of("app", "db1", "db2", "db3", "db4", "db5", "db6", "db7", "zeta"), flat(pages).stream().map(AgentRecord::host).toList());
        assertEquals(1, pages(catalog::agents, 9).size(), "an exactly full page has no next cursor");
    }

    @Test
    void aPageCursorThatIsNotOneIsRefused() throws Exception {
        for (String c : List.of("not base64!", "bm9wZQ", "WzEsMl0")) {
            HoldfastException e = failure(catalog.agents(new PageRequest(Optional.of(c), 10)));
            assertEquals(ErrorCode.USAGE, e.code(), c);
        }
    }

    // ---- sources ----

    @Test
    void sourcesAreReplacedPerHostAndCarryTheirLiveState() throws Exception {
        SourceRecord main = new SourceRecord("db2", "main", "postgres", "7300000000000000001", "150020", "stream", Optional.empty());
        SourceRecord cache = new SourceRecord("db2", "cache", "redis", "", "", "", Optional.empty());
        SourceRecord other = new SourceRecord("db1", "main", "postgres", "7300000000000000002", "160001", "archive", Optional.empty());
        await(catalog.replaceSources("db2", List.of(main, cache)));
        await(catalog.replaceSources("db1", List.of(other)));
        assertEquals(List.of(other, cache, main), flat(pages(catalog::sources, 2)), "by host, then name");

        SourceLiveState live = new SourceLiveState(t(10), 1.25, 0.5, "0/5A0001C8", Optional.of(t(9)), "streaming", "ok");
        await(catalog.sourceState("db2", "main", live));
        await(catalog.sourceState("db2", "nothing", live));
        SourceRecord withLive = new SourceRecord("db2", "main", "postgres", "7300000000000000001", "150020", "stream", Optional.of(live));
        assertEquals(List.of(other, cache, withLive), await(catalog.sources(PageRequest.FIRST)).items());
        assertEquals(Optional.of(withLive), await(catalog.source("db2", "main")));
        assertEquals(Optional.of(other), await(catalog.source("db1", "main")));
        assertEquals(Optional.empty(), await(catalog.source("db1", "cache")), "a source of another host");

        await(catalog.replaceSources("db2", List.of(withLive)));
        assertEquals(List.of(other, withLive), await(catalog.sources(PageRequest.FIRST)).items(), "the host's other sources are gone");
        assertThrows(IllegalArgumentException.class, () -> await(catalog.replaceSources("db1", List.of(main))));
        assertEquals(List.of(other, withLive), await(catalog.sources(PageRequest.FIRST)).items(), "a refused replacement changes nothing");
    }

    // ---- backups and WAL ----

    @Test
    void backupsAreListedNewestFirstPerSourceOrAllAcrossPages() throws Exception {
        List<BackupRecord> all = List.of(
                backup("main", "20261123T090000Z-full", Optional.of(t(0)), "complete"),
                backup("main", "20261123T100000Z-incr", Optional.of(t(3600)), "complete"),
                backup("other", "20261123T100000Z-full", Optional.of(t(3600)), "complete"),
                backup("main", "20261123T110000Z-full", Optional.of(t(7200)), "incomplete"),
                backup("other", "20261123T120000Z-full", Optional.of(t(10800)), "complete"),
                backup("main", "unknown-start", Optional.empty(), "incomplete"));
        for (BackupRecord b : all) {
            await(catalog.upsertBackup(b));
        }
        List<String> expected = List.of("other/20261123T120000Z-full", "main/20261123T110000Z-full", "main/20261123T100000Z-incr",
                "other/20261123T100000Z-full", "main/20261123T090000Z-full", "main/unknown-start");
        List<List<BackupRecord>> pages = pages(p -> catalog.backups(Optional.empty(), p), 2);
        assertEquals(3, pages.size());
        assertEquals(expected, flat(pages).stream().map(b -> b.source() + "/" + b.id()).toList(), "by start, then id, newest first");
        assertEquals(List.of("20261123T110000Z-full", "20261123T100000Z-incr", "20261123T090000Z-full", "unknown-start"),
                flat(pages(p -> catalog.backups(Optional.of("main"), p), 3)).stream().map(BackupRecord::id).toList());
        assertTrue(flat(pages).containsAll(all), "every field comes back as stored");

        BackupRecord done = new BackupRecord("main", "7300000000000000001", "20261123T110000Z-full", "db1", "full", "daily", "complete",
                Optional.of(t(7200)), Optional.of(t(7300)), "0/5000028", "0/5000138", 2, Optional.empty(), 5, 6, Optional.empty());
        await(catalog.upsertBackup(done));
        assertEquals(done, await(catalog.backups(Optional.of("main"), PageRequest.FIRST)).items().get(0), "an upsert replaces");
        assertEquals(6, flat(pages(p -> catalog.backups(Optional.empty(), p), 100)).size());
    }

    @Test
    void walRangesAreReplacedPerClusterAndClearedWithTheBackups() throws Exception {
        String sys1 = "7300000000000000001";
        String sys2 = "7300000000000000002";
        WalRangeRecord a = new WalRangeRecord("main", sys1, 1, "000000010000000000000001", "000000010000000000000003", 3);
        WalRangeRecord b = new WalRangeRecord("main", sys1, 1, "000000010000000000000005", "000000010000000000000006", 2);
        WalRangeRecord c = new WalRangeRecord("main", sys1, 2, "000000020000000000000006", "000000020000000000000006", 1);
        WalRangeRecord d = new WalRangeRecord("main", sys2, 1, "000000010000000000000001", "000000010000000000000001", 1);
        WalRangeRecord e = new WalRangeRecord("other", sys1, 1, "000000010000000000000001", "000000010000000000000002", 2);
        await(catalog.replaceWalRanges("main", sys1, List.of(c, b, a)));
        await(catalog.replaceWalRanges("main", sys2, List.of(d)));
        await(catalog.replaceWalRanges("other", sys1, List.of(e)));
        assertEquals(List.of(a, b, c, d), await(catalog.walRanges("main")));
        await(catalog.replaceWalRanges("main", sys1, List.of(a)));
        assertEquals(List.of(a, d), await(catalog.walRanges("main")));
        assertEquals(List.of(e), await(catalog.walRanges("other")));

        await(catalog.upsertBackup(backup("main", "20261123T090000Z-full", Optional.of(t(0)), "complete")));
        await(catalog.clearRepositoryIndex());
        assertEquals(List.of(), await(catalog.walRanges("main")));
        assertEquals(List.of(), await(catalog.backups(Optional.empty(), PageRequest.FIRST)).items());
    }

    // ---- jobs ----

    @Test
    void aJobIsInsertedUpdatedAndAnUnknownOneIsNotFound() throws Exception {
        JobRecord queued = job("j1", "db1", JobState.QUEUED, t(0));
        await(catalog.insertJob(queued));
        assertEquals(Optional.of(queued), await(catalog.job("j1")));
        assertEquals(Optional.empty(), await(catalog.job("nope")));

        JobRecord done = new JobRecord("j1", "db1", "main", "backup", "full", "daily", JobState.FAILED, "schedule", "scheduler",
                queued.scheduledFor(), t(0), Optional.of(t(1)), Optional.of(t(2)), Optional.of(t(3)), 500, 1000, "uploading",
                Optional.of("20261124T080000Z-full"), Optional.of("wal_timeout"), Optional.of("the WAL did not arrive"),
                Map.of("bytes", "1000", "stop_lsn", "0/3000138"));
        await(catalog.updateJob(done));
        assertEquals(Optional.of(done), await(catalog.job("j1")));

        assertEquals(ErrorCode.NOT_FOUND, failure(catalog.updateJob(job("ghost", "db1", JobState.RUNNING, t(0)))).code());
        assertEquals(ErrorCode.CONFLICT, failure(catalog.insertJob(queued)).code(), "a job id is unique");
    }

    @Test
    void openJobsAreAHostsUnfinishedJobsOldestFirstAndJobsPageNewestFirst() throws Exception {
        await(catalog.insertJob(job("j3", "db1", JobState.RUNNING, t(30))));
        await(catalog.insertJob(job("j1", "db1", JobState.QUEUED, t(10))));
        await(catalog.insertJob(job("j2", "db1", JobState.SUCCEEDED, t(20))));
        await(catalog.insertJob(job("j4", "db1", JobState.DISPATCHED, t(40))));
        await(catalog.insertJob(job("j5", "db1", JobState.FAILED, t(50))));
        await(catalog.insertJob(job("j6", "db2", JobState.QUEUED, t(60))));
        await(catalog.insertJob(job("j0", "db2", JobState.QUEUED, t(60))));
        assertEquals(List.of("j1", "j3", "j4"), await(catalog.openJobs("db1")).stream().map(JobRecord::id).toList());
        assertEquals(List.of("j0", "j6"), await(catalog.openJobs("db2")).stream().map(JobRecord::id).toList());
        assertEquals(List.of(), await(catalog.openJobs("db3")));
        List<List<JobRecord>> pages = pages(catalog::jobs, 3);
        assertEquals(List.of(3, 3, 1), pages.stream().map(List::size).toList());
        assertEquals(List.of("j6", "j0", "j5", "j4", "j3", "j2", "j1"), flat(pages).stream().map(JobRecord::id).toList(),
                "newest first, then by id descending");
    }

    // ---- restore requests ----

    private static RestoreRecord restoreRequest(String id, String host, Instant created) {
        return new RestoreRecord(id, host, "main", "db1", "latest", "20261124T080000Z-full", "7301", "time", "2026-11-24T08:30:00Z",
                "/var/lib/holdfast/restore/x", "default", 2, "ci-runner", List.of(), RestoreState.REQUESTED, created, Optional.empty(),
                Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "",
                Optional.empty(), Optional.empty(), 1);
    }

    @Test
    void aRestoreRequestRoundTripsAndChangesOnlyFromTheRevisionItWasReadAt() throws Exception {
        RestoreRecord r = restoreRequest("r-1", "db2", t(0));
        await(catalog.insertRestore(r));
        assertEquals(Optional.of(r), await(catalog.restore("r-1")));
        assertEquals(Optional.empty(), await(catalog.restore("r-2")));
        RestoreRecord once = r.withApproval("ops-1");
        RestoreRecord granted = once.withApproval("ops-2").withGrant(t(5), "00112233445566778899aabbccddeeff", t(605), "Z3JhbnQ=");
        assertTrue(await(catalog.updateRestore(granted, r.revision())));
        assertFalse(await(catalog.updateRestore(once, r.revision())), "a second change from the same revision loses");
        assertEquals(Optional.of(granted), await(catalog.restore("r-1")));
        RestoreRecord done = granted.withGrantSent(t(6)).withProgress(t(7), 10, 100, "copy").finished(RestoreState.DONE, t(9), "", "");
        assertTrue(await(catalog.updateRestore(done, granted.revision())));
        assertEquals(Optional.of(done), await(catalog.restore("r-1")));
        assertEquals(ErrorCode.CONFLICT, failure(catalog.insertRestore(r)).code(), "a restore id is unique");
    }

    @Test
    void openRestoresAreTheApprovedAndRunningOnesOldestFirstAndRestoresPageNewestFirst() throws Exception {
        await(catalog.insertRestore(restoreRequest("r-a", "db1", t(10))));
        await(catalog.insertRestore(restoreRequest("r-b", "db1", t(20)).withGrant(t(20), "aa".repeat(16), t(620), "Zw==")));
        await(catalog.insertRestore(restoreRequest("r-c", "db1", t(30)).withProgress(t(31), 1, 2, "copy")));
        await(catalog.insertRestore(restoreRequest("r-d", "db2", t(40)).withGrant(t(40), "bb".repeat(16), t(640), "Zw==")));
        await(catalog.insertRestore(restoreRequest("r-e", "db1", t(50)).finished(RestoreState.EXPIRED, t(50), "grant_expired", "late")));
        assertEquals(List.of("r-b", "r-c"), await(catalog.openRestores(Optional.of("db1"))).stream().map(RestoreRecord::id).toList());
        assertEquals(List.of("r-b", "r-c", "r-d"), await(catalog.openRestores(Optional.empty())).stream().map(RestoreRecord::id).toList());
        List<List<RestoreRecord>> pages = pages(catalog::restores, 2);
        assertEquals(List.of("r-e", "r-d", "r-c", "r-b", "r-a"), flat(pages).stream().map(RestoreRecord::id).toList());
    }

    // ---- verification ----

    @Test
    void aVerificationOutcomeIsReplacedPerBackupAndListedPerSource() throws Exception {
        VerificationRecord ok = new VerificationRecord("main", "7300000000000000001", "20261123T090000Z-full", t(0), true, Optional.empty(),
                Optional.empty(), false, 0, "v1");
        VerificationRecord other = new VerificationRecord("other", "7300000000000000002", "20261123T090000Z-full", t(0), true,
                Optional.empty(), Optional.empty(), true, 4096, "v1");
        await(catalog.recordVerification(ok));
        await(catalog.recordVerification(other));
        VerificationRecord failed = new VerificationRecord("main", "7300000000000000001", "20261123T090000Z-full", t(86400), false,
                Optional.of("integrity_failure"), Optional.of("pack p is damaged"), true, 123456789012L, "v2");
        await(catalog.recordVerification(failed));
        assertEquals(List.of(failed), await(catalog.verifications(Optional.of("main"))));
        assertEquals(2, await(catalog.verifications(Optional.empty())).size());
    }

    @Test
    void aControllerStateValueIsSetAndReplaced() throws Exception {
        assertEquals(Optional.empty(), await(catalog.controllerState("verify.sample.cursor")));
        await(catalog.putControllerState("verify.sample.cursor", "backups/main/a", t(0)));
        await(catalog.putControllerState("verify.sample.cursor", "backups/main/b", t(1)));
        assertEquals(Optional.of("backups/main/b"), await(catalog.controllerState("verify.sample.cursor")));
    }

    // ---- schedules ----

    @Test
    void aScheduledRunIsClaimedOnceAndTheLatestClaimIsKnown() throws Exception {
        assertEquals(Optional.empty(), await(catalog.lastScheduledRun("db1", "main", "daily")));
        assertTrue(await(catalog.claimScheduledRun("db1", "main", "daily", t(0), "j1")));
        assertFalse(await(catalog.claimScheduledRun("db1", "main", "daily", t(0), "j2")));
        assertFalse(await(catalog.claimScheduledRun("db1", "main", "daily", t(0), "j1")), "not even twice by the same job");
        assertTrue(await(catalog.claimScheduledRun("db1", "main", "daily", t(86400), "j3")));
        assertTrue(await(catalog.claimScheduledRun("db1", "main", "weekly", t(0), "j4")));
        assertTrue(await(catalog.claimScheduledRun("db2", "main", "daily", t(172800), "j5")));
        assertEquals(Optional.of(t(86400)), await(catalog.lastScheduledRun("db1", "main", "daily")));
    }

    @Test
    void aScheduledJobIsClaimedAndInsertedTogetherOrNotAtAll() throws Exception {
        JobRecord first = job("j1", "db1", JobState.QUEUED, t(10));
        assertTrue(await(catalog.claimScheduledJob(first)));
        assertEquals(Optional.of(first), await(catalog.job("j1")));
        assertEquals(first.scheduledFor(), await(catalog.lastScheduledRun("db1", "main", "daily")));
        JobRecord again = job("j2", "db1", JobState.QUEUED, t(10));
        assertFalse(await(catalog.claimScheduledJob(again)), "the slot is taken");
        assertEquals(Optional.empty(), await(catalog.job("j2")), "and the losing job was not inserted");
        assertFalse(await(catalog.claimScheduledRun("db1", "main", "daily", first.scheduledFor().get(), "j3")));

        // A job that cannot be inserted (its id is taken) leaves the slot unclaimed: the transaction rolls back.
        JobRecord clash = new JobRecord("j1", "db1", "main", "backup", "full", "weekly", JobState.QUEUED, "schedule", "scheduler",
                Optional.of(t(20)), t(21), Optional.empty(), Optional.empty(), Optional.empty(), 0, 0, "", Optional.empty(),
                Optional.empty(), Optional.empty(), Map.of());
        assertThrows(Exception.class, () -> await(catalog.claimScheduledJob(clash)));
        assertEquals(Optional.empty(), await(catalog.lastScheduledRun("db1", "main", "weekly")), "no claim without its job");
        List<Boolean> won = concurrently(20, i -> catalog.claimScheduledJob(job("c" + i, "db2", JobState.QUEUED, t(30))));
        assertEquals(1, won.stream().filter(b -> b).count(), won.toString());
    }

    @Test
    void ofTwentyConcurrentClaimsOfOneRunExactlyOneWins() throws Exception {
        List<Boolean> won = concurrently(20, i -> catalog.claimScheduledRun("db1", "main", "daily", t(0), "job-" + i));
        assertEquals(1, won.stream().filter(b -> b).count(), won.toString());
    }

    @Test
    void twoCatalogsOnOneStoreAlsoClaimARunExactlyOnce() throws Exception {
        try (Catalog second = await(open())) {
            List<Boolean> won = concurrently(20, i -> (i % 2 == 0 ? catalog : second)
                    .claimScheduledRun("db1", "main", "weekly", t(7), "job-" + i));
            assertEquals(1, won.stream().filter(b -> b).count(), won.toString());
            EnrolmentTokenRecord tok = new EnrolmentTokenRecord("9a".repeat(32), "db1", t(0), t(3600), "admin", Optional.empty());
            await(second.insertEnrolmentToken(tok));
            List<Boolean> used = concurrently(20, i -> (i % 2 == 0 ? catalog : second).consumeEnrolmentToken(tok.tokenHash(), t(i)));
            assertEquals(1, used.stream().filter(b -> b).count(), used.toString());
        }
    }

    // ---- enrolment and certificates ----

    @Test
    void anEnrolmentTokenIsConsumedOnce() throws Exception {
        EnrolmentTokenRecord tok = new EnrolmentTokenRecord("ab".repeat(32), "db1", t(0), t(3600), "admin", Optional.empty());
        await(catalog.insertEnrolmentToken(tok));
        assertEquals(Optional.of(tok), await(catalog.enrolmentToken(tok.tokenHash())));
        assertTrue(await(catalog.consumeEnrolmentToken(tok.tokenHash(), t(10))));
        assertFalse(await(catalog.consumeEnrolmentToken(tok.tokenHash(), t(11))));
        assertEquals(Optional.of(t(10)), await(catalog.enrolmentToken(tok.tokenHash())).orElseThrow().usedAt());
        assertFalse(await(catalog.consumeEnrolmentToken("cd".repeat(32), t(10))), "an unknown token");
        assertEquals(Optional.empty(), await(catalog.enrolmentToken("cd".repeat(32))));
    }

    @Test
    void ofTwentyConcurrentConsumptionsOfOneTokenExactlyOneWins() throws Exception {
        EnrolmentTokenRecord tok = new EnrolmentTokenRecord("ef".repeat(32), "db1", t(0), t(3600), "admin", Optional.empty());
        await(catalog.insertEnrolmentToken(tok));
        List<Boolean> won = concurrently(20, i -> catalog.consumeEnrolmentToken(tok.tokenHash(), t(i)));
        assertEquals(1, won.stream().filter(b -> b).count(), won.toString());
        assertEquals(Optional.of(t(won.indexOf(true))), await(catalog.enrolmentToken(tok.tokenHash())).orElseThrow().usedAt(),
                "the winner's time is the one stored");
    }

    @Test
    void aHostsCertificatesAreRevokedAndListed() throws Exception {
        await(catalog.insertCertificate(new CertificateRecord("0c", "db1", t(0), t(100), Optional.empty())));
        await(catalog.insertCertificate(new CertificateRecord("0a", "db1", t(0), t(100), Optional.empty())));
        await(catalog.insertCertificate(new CertificateRecord("0b", "db2", t(0), t(100), Optional.empty())));
        await(catalog.insertCertificate(new CertificateRecord("01", "db3", t(0), t(100), Optional.of(t(50)))));
        assertEquals(List.of("01"), await(catalog.revokedSerials()));
        assertEquals(2, await(catalog.revokeCertificates("db1", t(60))));
        assertEquals(0, await(catalog.revokeCertificates("db1", t(61))), "already revoked");
        assertEquals(0, await(catalog.revokeCertificates("nobody", t(61))));
        assertEquals(List.of("01", "0a", "0c"), await(catalog.revokedSerials()));
        assertEquals(ErrorCode.CONFLICT, failure(catalog.insertCertificate(new CertificateRecord("0a", "db9", t(0), t(1), Optional.empty())))
                .code(), "a serial is unique");
    }

    // ---- API tokens and audit ----

    @Test
    void anApiTokenIsFoundByItsHash() throws Exception {
        ApiTokenRecord tok = new ApiTokenRecord("12".repeat(32), "analyst", "grafana", t(0), "admin");
        await(catalog.insertApiToken(tok));
        assertEquals(Optional.of(tok), await(catalog.apiToken(tok.tokenHash())));
        assertEquals(Optional.empty(), await(catalog.apiToken("34".repeat(32))));
    }

    @Test
    void auditEntriesGetIncreasingSequenceNumbersAndPageOldestFirst() throws Exception {
        List<Long> seqs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            seqs.add(await(catalog.appendAudit(new AuditRecord(0, t(i), "req-" + i, "admin", "admin", "backup.request", "db1/main", "ok",
                    "entry " + i))));
        }
        for (int i = 1; i < seqs.size(); i++) {
            assertTrue(seqs.get(i) > seqs.get(i - 1), seqs.toString());
        }
        List<List<AuditRecord>> pages = pages(catalog::audit, 2);
        assertEquals(List.of(2, 2, 1), pages.stream().map(List::size).toList());
        List<AuditRecord> all = flat(pages);
        assertEquals(seqs, all.stream().map(AuditRecord::seq).toList());
        assertEquals(new AuditRecord(seqs.get(3), t(3), "req-3", "admin", "admin", "backup.request", "db1/main", "ok", "entry 3"), all.get(3));
    }

    @Test
    void auditEntriesAreChainedFromTheGenesisValueAndTheHeadFollows() throws Exception {
        for (int i = 0; i < 3; i++) {
            await(catalog.appendAudit(new AuditRecord(0, t(i).plusNanos(789), "req-" + i, "admin", "admin", "x", "y", "ok", "é " + i)));
        }
        dev.holdfast.controller.audit.AuditKey key = catalog.auditKey().orElseThrow();
        List<AuditEntry> entries = await(catalog.auditAfter(0, 10));
        dev.holdfast.controller.audit.AuditMac prev = dev.holdfast.controller.audit.AuditMac.GENESIS;
        for (AuditEntry e : entries) {
            dev.holdfast.controller.audit.AuditMac mac = dev.holdfast.controller.audit.AuditChain.link(key, prev, e.record());
            assertEquals(Optional.of(mac), e.mac(), "entry " + e.record().seq());
            prev = mac;
        }
        AuditHead head = await(catalog.auditHead());
        assertEquals(3, head.seq());
        assertEquals(prev, head.mac());
        assertEquals(0, head.baseSeq());
        assertEquals(Optional.of(key.id()), head.keyId());
        assertEquals(entries, flat(pages(catalog::auditEntries, 2)));
        assertEquals(entries.subList(1, 3), await(catalog.auditAfter(1, 10)));
    }

    @Test
    void concurrentAuditAppendsFromTwoCatalogsOnOneStoreKeepOneValidChain() throws Exception {
        Catalog second = await(open());
        try {
            List<Long> seqs = concurrently(120, i -> (i % 2 == 0 ? catalog : second).appendAudit(new AuditRecord(0, t(i), "req-" + i,
                    "admin", "admin", "backup.request", "db1/main", "ok", "entry " + i)));
            assertEquals(120, new java.util.HashSet<>(seqs).size(), "every append got its own seq");
            var result = await(dev.holdfast.controller.audit.AuditCatalogVerifier.verify(vertx, catalog, catalog.auditKey().orElseThrow()));
            assertEquals(1, result.verified().firstSeq());
            assertEquals(120, result.verified().lastSeq());
            assertEquals(120, result.verified().count());
        } finally {
            second.close();
        }
    }

    @Test
    void theExportPositionMovesOnlyFromTheValueReadBefore() throws Exception {
        await(catalog.appendAudit(new AuditRecord(0, t(0), "r", "a", "admin", "x", "y", "ok", "")));
        AuditEntry e = await(catalog.auditAfter(0, 1)).get(0);
        assertTrue(await(catalog.markAuditExported(0, 1, e.mac().orElseThrow())));
        assertFalse(await(catalog.markAuditExported(0, 1, e.mac().orElseThrow())), "another exporter moved it first");
        assertEquals(1, await(catalog.auditHead()).exportedSeq());
        assertEquals(e.mac().orElseThrow(), await(catalog.auditHead()).exportedMac());
    }

    // ---- the store itself ----

    @Test
    void reopeningKeepsTheDataAndIsIdempotent() throws Exception {
        await(catalog.upsertAgent(agent("db1", 1)));
        await(catalog.insertJob(job("j1", "db1", JobState.QUEUED, t(0))));
        assertTrue(await(catalog.claimScheduledRun("db1", "main", "daily", t(0), "j1")));
        long seq = await(catalog.appendAudit(new AuditRecord(0, t(0), "r", "a", "admin", "x", "y", "ok", "")));
        catalog.close();
        catalog = await(open());
        Catalog second = await(open());
        try {
            assertEquals(Optional.of(agent("db1", 1)), await(second.agent("db1")));
            assertEquals(Optional.of(job("j1", "db1", JobState.QUEUED, t(0))), await(catalog.job("j1")));
            assertFalse(await(catalog.claimScheduledRun("db1", "main", "daily", t(0), "j2")), "a claim survives a restart");
            assertTrue(await(catalog.appendAudit(new AuditRecord(0, t(1), "r", "a", "admin", "x", "y", "ok", ""))) > seq);
        } finally {
            second.close();
        }
    }

    @Test
    void resultsCompleteOnTheCallersContext() throws Exception {
        Context context = vertx.getOrCreateContext();
        Promise<Boolean> same = Promise.promise();
        context.runOnContext(v -> catalog.upsertAgent(agent("db1", 1)).compose(x -> catalog.agent("db1"))
                .onComplete(ar -> same.complete(Vertx.currentContext() == context && ar.succeeded() && ar.result().isPresent())));
        assertTrue(await(same.future()));
    }
}
