import { join } from 'node:path'

/**
 * Configuration files of throwaway store servers, for the test helpers and the benchmarks (which
 * run outside ava, so they cannot load the helpers themselves).
 */

/** influxd: everything in `dir`, HTTP and the RPC bind address on loopback, reporting and self-monitoring off. */
export function influxConfig(dir: string, http: number, rpc: number): string {
  return [
    'reporting-disabled = true',
    `bind-address = "127.0.0.1:${rpc}"`,
    '[meta]', `  dir = "${join(dir, 'meta')}"`, '  logging-enabled = false',
    '[data]', `  dir = "${join(dir, 'data')}"`, `  wal-dir = "${join(dir, 'wal')}"`, '  query-log-enabled = false',
    '[http]', `  bind-address = "127.0.0.1:${http}"`, '  log-enabled = false',
    '[monitor]', '  store-enabled = false',
    '[continuous_queries]', '  enabled = false',
    '[subscriber]', '  enabled = false',
    '',
  ].join('\n')
}

/** clickhouse-server: data, tmp and logs in `dir`, HTTP and native ports on 127.0.0.1, small caches, UTC. */
export function clickhouseConfig(dir: string, http: number, tcp: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>${dir}/server.log</log><errorlog>${dir}/server.err.log</errorlog><size>10M</size><count>1</count></logger>
  <http_port>${http}</http_port>
  <tcp_port>${tcp}</tcp_port>
  <listen_host>127.0.0.1</listen_host>
  <path>${dir}/data/</path>
  <tmp_path>${dir}/tmp/</tmp_path>
  <user_files_path>${dir}/user_files/</user_files_path>
  <format_schema_path>${dir}/format_schemas/</format_schema_path>
  <users_config>${dir}/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <mark_cache_size>67108864</mark_cache_size>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <timezone>UTC</timezone>
  <mlock_executable>false</mlock_executable>
</yandex>
`
}

/** One passwordless default user, reachable from 127.0.0.1 only. */
export const CLICKHOUSE_USERS = `<?xml version="1.0"?>
<yandex>
  <profiles><default></default></profiles>
  <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
  <quotas><default></default></quotas>
</yandex>
`
