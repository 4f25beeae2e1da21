package dev.holdfast.cli.controller;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast controller ...}: the controller. */
@Command(name = "controller", mixinStandardHelpOptions = true, description = "The controller: run it, or rebuild its catalog from the repository.",
        subcommands = {ControllerRunCommand.class, ControllerReindexCommand.class})
public final class ControllerCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
