# The Sidekiq side of bench/worker.py: a Rails app's ProcessRequestJob that reads its four
# fields. The baseline gets its best showing: logging turned down to warnings (no line per job),
# and redis-rb 4.8's deprecation notice, which Debian's Sidekiq 6.4.1 triggers on every BRPOP,
# silenced.
require "sidekiq"

Sidekiq.logger.level = Logger::WARN
Redis.silence_deprecations = true

class ProcessRequestJob
  include Sidekiq::Worker

  def perform(params)
    [params.fetch("ip"), params.fetch("user_agent"), params.fetch("url"), params.fetch("time")]
  end
end
