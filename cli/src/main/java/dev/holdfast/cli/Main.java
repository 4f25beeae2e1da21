package dev.holdfast.cli;

import dev.holdfast.cli.agent.AgentCommand;
import dev.holdfast.cli.audit.AuditCommand;
import dev.holdfast.cli.controller.ControllerCommand;
import dev.holdfast.cli.demo.DemoCommand;
import dev.holdfast.cli.enroll.EnrollCommand;
import dev.holdfast.cli.keys.KeysCommand;
import dev.holdfast.cli.list.ListCommand;
import dev.holdfast.cli.object.ObjectCommand;
import dev.holdfast.cli.repo.RepoCommand;
import dev.holdfast.cli.verify.VerifyCommand;
import dev.holdfast.cli.wal.WalFetchCommand;
import dev.holdfast.cli.wal.WalPushCommand;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.cli.backup.BackupCommand;
import dev.holdfast.cli.restore.RestoreCommand;
import dev.holdfast.error.HoldfastException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code holdfast} command. Exit status: 0 on success, else the failure's {@link ErrorCode}
 * exit status (docs/errors.md); usage errors exit 2.
 */
@Command(name = "holdfast", mixinStandardHelpOptions = true, versionProvider = Version.class,
        description = "Backup and disaster recovery for PostgreSQL, Redis and files.",
        subcommands = {KeysCommand.class, RepoCommand.class, ObjectCommand.class, AgentCommand.class, ControllerCommand.class, DemoCommand.class,
                WalPushCommand.class, WalFetchCommand.class, ListCommand.class, BackupCommand.class, RestoreCommand.class,
                VerifyCommand.class, EnrollCommand.class, dev.holdfast.cli.config.ConfigCommand.class, dev.holdfast.cli.drill.DrillCommand.class,
                AuditCommand.class, dev.holdfast.cli.retention.RetentionCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line with the given output streams; returns the exit status. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            HoldfastException h = HoldfastException.find(e);
            if (h != null) {
                commandLine.getErr().println("holdfast: " + h.code().code() + ": " + h.getMessage());
                return h.code().exitStatus();
            }
            commandLine.getErr().println("holdfast: internal: " + e);
            e.printStackTrace(commandLine.getErr());
            return ErrorCode.INTERNAL.exitStatus();
        });
        return cl.execute(args);
    }
}
