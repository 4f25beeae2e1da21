package dev.holdfast.cli.keys;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code holdfast keys ...}: the master key file and the repository's key envelopes. */
@Command(name = "keys", mixinStandardHelpOptions = true, description = "Create, rotate, export and import master keys.",
        subcommands = {KeysInitCommand.class, KeysRotateCommand.class, KeysRetireCommand.class, KeysExportCommand.class,
                KeysImportCommand.class})
public final class KeysCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }
}
