package dev.holdfast.cli;

import dev.holdfast.agent.config.AgentConfig;
import dev.holdfast.agent.config.PostgresSourceConfig;
import dev.holdfast.agent.config.SourceConfig;
import dev.holdfast.error.ErrorCode;
import dev.holdfast.error.HoldfastException;
import java.util.List;

/** Picks the configured PostgreSQL source a command works on. */
public final class Sources {
    private Sources() {
    }

    /** {@code name} if given (it must be a configured postgres source), else the configuration's only postgres source. */
    public static PostgresSourceConfig postgres(AgentConfig config, String name) {
        List<PostgresSourceConfig> pg = config.sources().stream().filter(s -> s instanceof PostgresSourceConfig)
                .map(s -> (PostgresSourceConfig) s).toList();
        if (name != null) {
            for (SourceConfig s : config.sources()) {
                if (s.name().equals(name)) {
                    if (s instanceof PostgresSourceConfig p) {
                        return p;
                    }
                    throw new HoldfastException(ErrorCode.USAGE, "source " + name + " in " + config.file() + " is of type " + s.type()
                            + ", not postgres");
                }
            }
            throw new HoldfastException(ErrorCode.USAGE, "no source named " + name + " in " + config.file());
        }
        if (pg.size() == 1) {
            return pg.get(0);
        }
        throw new HoldfastException(ErrorCode.USAGE, pg.isEmpty() ? "no postgres source in " + config.file()
                : "several postgres sources in " + config.file() + ": pass --source NAME");
    }
}
