package dev.holdfast.cli.config;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.controller.audit.AuditSettings;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.controller.schedule.CronExpression;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code holdfast config ...}: check a configuration file, print the reference of every key. */
@Command(name = "config", mixinStandardHelpOptions = true, description = "Check a configuration file, or print the reference of every key.",
        subcommands = {ConfigCommand.Check.class, ConfigCommand.Reference.class})
public final class ConfigCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** {@code holdfast config check}: the start-up validation, without starting anything. */
    @Command(name = "check", mixinStandardHelpOptions = true, description = {
            "Validate an agent's or a controller's configuration file exactly as 'agent run' / 'controller run' do at start-up,",
            "and start nothing. Exit 0 when valid; 3 (config_invalid) with the file, key and what was expected otherwise.",
            "Use it before a reload, or as Ansible's template 'validate:' command."})
    public static final class Check implements Callable<Integer> {
        static final class Which {
            @Option(names = "--agent", paramLabel = "FILE", required = true, description = "An agent configuration file.")
            Path agent;

            @Option(names = "--controller", paramLabel = "FILE", required = true, description = "A controller configuration file.")
            Path controller;
        }

        @ArgGroup(exclusive = true, multiplicity = "1")
        Which which;

        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            if (which.agent != null) {
                AgentConfig c = AgentConfig.load(which.agent);
                spec.commandLine().getOut().println(which.agent + ": valid agent configuration (host " + c.host() + ", "
                        + c.sources().size() + " source" + (c.sources().size() == 1 ? "" : "s") + ")");
            } else {
                ControllerConfig c = ControllerConfig.load(which.controller, CronExpression::parse);
                AuditSettings.of(c);
                spec.commandLine().getOut().println(which.controller + ": valid controller configuration ("
                        + c.policies().size() + " polic" + (c.policies().size() == 1 ? "y" : "ies") + ")");
            }
            return 0;
        }
    }

    /** {@code holdfast config reference}: docs/configuration.md, generated from the key declarations. */
    @Command(name = "reference", mixinStandardHelpOptions = true, description = {
            "Print the reference of every configuration key (Markdown), generated from the declarations the parsers use:",
            "docs/configuration.md is this output."})
    public static final class Reference implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().getOut().print(ConfigReference.markdown());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
