/**
 * The Redis source (docs/redis.md, docs/format.md section 13): continuous shipping of Redis 7's
 * multi-part AOF ({@link dev.holdfast.agent.redis.AofShipper}, run by
 * {@link dev.holdfast.agent.redis.RedisSource}) and its restore
 * ({@link dev.holdfast.agent.redis.AofRestore}), cut at a timestamp annotation when asked.
 */
package dev.holdfast.agent.redis;
