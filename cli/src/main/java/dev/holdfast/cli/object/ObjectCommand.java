package dev.holdfast.cli.object;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast object ...}: plumbing on single sealed objects. */
@Command(name = "object", mixinStandardHelpOptions = true, description = "Plumbing: seal, unseal, list and inspect single objects.",
        subcommands = {ObjectPutCommand.class, ObjectGetCommand.class, ObjectLsCommand.class, ObjectInspectCommand.class})
public final class ObjectCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
