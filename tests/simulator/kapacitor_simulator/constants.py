"""Constants of the Kapacitor Flux task API that the simulator serves (docs/kapacitor-api.md)."""


VERSION = '1.8.3'
API_PREFIX = '/kapacitor/v1'
TASKS_PREFIX = API_PREFIX + '/api/v2/tasks'
ADMIN_USER = 'ADMIN_USER'
NS = 1_000_000_000
HORIZON_NS = 14 * 86400 * NS           # docs/kapacitor-api.md §4.4: every read of completed runs uses range(start: -14d)
DEFAULT_LIMIT, MAX_LIMIT = 100, 500    # docs/kapacitor-api.md §4.1 / §4.4
POLL_SECONDS = 0.05                    # how soon a blocking run sees that it was canceled (a disconnect: at once)
DEFAULT_RETRY_ERROR = 'runtime error @4:6-4:40: to: failed to write data: Post "http://influxdb:8086/api/v2/write": connection refused'
DEFAULT_FLUX_ERROR = 'error @3:1-3:4: invalid expression'
