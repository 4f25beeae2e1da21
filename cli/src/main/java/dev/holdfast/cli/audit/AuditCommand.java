package dev.holdfast.cli.audit;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast audit ...}: the controller's audit log. */
@Command(name = "audit", mixinStandardHelpOptions = true, description = "The controller's audit log: verify its HMAC chain, export it.",
        subcommands = {AuditVerifyCommand.class, AuditExportCommand.class})
public final class AuditCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
