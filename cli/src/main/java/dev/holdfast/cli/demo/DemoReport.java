package dev.holdfast.cli.demo;

import dev.holdfast.repository.backup.BackupId;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;

/** What the demo reports: the measurements and where things are. */
record DemoReport(Path root, Path logs, Process controller, Process agent, int controllerPort, Path agentConfig, Path tokenFile, Path caCert,
                  Duration rpo, Double liveRpoSeconds, Duration rto, String check, BackupId backupId, String target, Path restored,
                  int restoredPort, String redis) {
    void print(PrintWriter w) {
        String api = "https://127.0.0.1:" + controllerPort + "/api/v1";
        w.println();
        w.println("== Report ==");
        w.printf("RPO: %.2f s  (a committed row's WAL became durable in the repository %.2f s after the commit;"
                + " the agent reports a live RPO of %s)%n", rpo.toMillis() / 1000.0, rpo.toMillis() / 1000.0,
                liveRpoSeconds == null ? "n/a" : String.format("%.2f s", liveRpoSeconds));
        w.printf("RTO: %.1f s  (restore of backup %s to %s started -> the restored cluster answered the check query)%n",
                rto.toMillis() / 1000.0, backupId, target);
        w.println("Check: " + check);
        w.println("Redis: " + redis);
        w.println("Dashboard: https://127.0.0.1:" + controllerPort + "/  (its CA: " + caCert + "; paste the admin token, or open"
                + " https://127.0.0.1:" + controllerPort + "/#token=$(cat " + tokenFile + "))");
        w.println("API:   " + api + "  (the controller; GET /metrics beside it)");
        w.println("Admin token file: " + tokenFile);
        w.println("Explore:");
        w.println("  curl --cacert " + caCert + " -H \"Authorization: Bearer $(cat " + tokenFile + ")\" " + api + "/sources");
        w.println("  curl --cacert " + caCert + " -H \"Authorization: Bearer $(cat " + tokenFile + ")\" " + api + "/backups");
        w.println("  bin/holdfast list --config " + agentConfig);
        w.println("  bin/holdfast verify --config " + agentConfig + " --source main");
        w.println("  psql -h " + restored + " -p " + restoredPort + " -U postgres -c 'SELECT * FROM demo_markers'   # the restored copy");
        w.println("Logs: " + logs + "; everything else: " + root);
        w.flush();
    }
}
