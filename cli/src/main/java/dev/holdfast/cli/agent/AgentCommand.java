package dev.holdfast.cli.agent;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast agent ...}: the agent daemon. */
@Command(name = "agent", mixinStandardHelpOptions = true, description = "Run the agent daemon.",
        subcommands = {AgentRunCommand.class})
public final class AgentCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
