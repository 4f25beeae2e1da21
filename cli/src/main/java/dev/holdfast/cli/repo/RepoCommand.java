package dev.holdfast.cli.repo;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast repo ...}: creating a repository and checking its store. */
@Command(name = "repo", mixinStandardHelpOptions = true, description = "Create a repository, check its object store.",
        subcommands = {RepoInitCommand.class, RepoCheckStorageCommand.class})
public final class RepoCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
