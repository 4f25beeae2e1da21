package dev.holdfast.controller.retention;

import dev.holdfast.controller.catalog.SourceRecord;
import dev.holdfast.controller.config.ControllerConfig;
import dev.holdfast.repository.retention.RetentionInventory;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Which policy covers a cluster of the repository. The repository knows clusters by source name
 * and system identifier ({@code backups/<source>/<system-id>/...}); policies cover
 * {@code host/source} globs. A cluster belongs to the hosts the catalog knows reporting that source
 * with that system identifier (a primary and its standby share one), and is covered by the policy
 * {@link ControllerConfig#policyFor} gives for them. When the catalog knows no host for it (a
 * cluster no agent reports any more) it is matched with an empty host, so {@code * /source} globs
 * still cover it, else {@code default} does.
 *
 * <p>Retention deletes, so it never guesses: when the hosts of one cluster fall under different
 * policies, no policy covers the cluster and it is kept whole (the plan says nothing about it; the
 * operator aligns the policies).
 */
final class PolicyClusters {
    private final ControllerConfig config;
    private final Map<RetentionInventory.Cluster, Set<String>> hostsByCluster = new HashMap<>();

    PolicyClusters(ControllerConfig config, Collection<SourceRecord> sources) {
        this.config = config;
        for (SourceRecord s : sources) {
            if (!s.systemId().isEmpty()) {
                hostsByCluster.computeIfAbsent(new RetentionInventory.Cluster(s.name(), s.systemId()), k -> new LinkedHashSet<>())
                        .add(s.host());
            }
        }
    }

    /** The policy covering {@code cluster}, or null when its hosts' policies disagree (then nothing is deleted there). */
    ControllerConfig.Policy policyOf(RetentionInventory.Cluster cluster) {
        Set<String> hosts = hostsByCluster.getOrDefault(cluster, Set.of(""));
        Set<String> names = new HashSet<>();
        ControllerConfig.Policy policy = null;
        for (String h : hosts) {
            policy = config.policyFor(h, cluster.source());
            names.add(policy == null ? "" : policy.name());
        }
        return names.size() == 1 ? policy : null;
    }

    boolean covers(ControllerConfig.Policy policy, RetentionInventory.Cluster cluster) {
        ControllerConfig.Policy p = policyOf(cluster);
        return p != null && p.name().equals(policy.name());
    }
}
