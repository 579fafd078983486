# A minimal Rails-like producer and consumer of Tally's jobs, on Debian's Sidekiq 6.4.1 and
# ActiveJob 6.1. Loaded by `sidekiq -r ./tests/ruby/app.rb` (consumer) and by enqueue.rb.
#
# TALLY_FORM=plain: ProcessRequestJob is a Sidekiq::Worker (plain jobs).
# TALLY_FORM=activejob: ProcessRequestJob is an ActiveJob (jobs wrapped by the Sidekiq adapter).
# One class cannot be both: Sidekiq 6 refuses to include Sidekiq::Worker in an ActiveJob.
#
# perform records what it received, as JSON, on the Redis list TALLY_RECORD_KEY: the arguments
# and the Ruby class of each top-level key, so a test can tell symbols from strings.
require "json"
require "logger"
require "sidekiq"
require "active_job"
require "active_support/core_ext/hash/indifferent_access"

REDIS = { url: ENV.fetch("REDIS_URL") }.freeze
Sidekiq.configure_server { |config| config.redis = REDIS }
Sidekiq.configure_client { |config| config.redis = REDIS }
ActiveJob::Base.queue_adapter = :sidekiq
ActiveJob::Base.logger = Logger.new(nil)

module Recorder
  def self.record(form, jid, args)
    first = args.first
    entry = {
      "form" => form,
      "jid" => jid,
      "args" => args,
      "key_classes" => first.is_a?(Hash) ? first.keys.map { |key| key.class.name }.uniq : [],
      "arg_class" => first.class.name,
    }
    Sidekiq.redis { |redis| redis.rpush(ENV.fetch("TALLY_RECORD_KEY", "tally:test:received"), JSON.generate(entry)) }
  end
end

if ENV.fetch("TALLY_FORM", "plain") == "activejob"
  class ProcessRequestJob < ActiveJob::Base
    queue_as :default

    def perform(*args, **kwargs)
      args << kwargs unless kwargs.empty?
      Recorder.record("activejob", provider_job_id, args)
    end
  end
else
  class ProcessRequestJob
    include Sidekiq::Worker

    def perform(*args)
      Recorder.record("plain", jid, args)
    end
  end
end
