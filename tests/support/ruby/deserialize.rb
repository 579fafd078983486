# Deserialize every job on queue:default as a Ruby consumer would, and report what came out.
# Run as `ruby -r ./tests/support/ruby/app.rb tests/support/ruby/deserialize.rb` (tests/support/sidekiq_ruby.py).
#
# ActiveJob-wrapped jobs go through ActiveJob::Arguments.deserialize, what ActiveJob runs before
# perform; plain jobs are the JSON Sidekiq hands perform. One JSON line per job: its jid, the
# arguments as JSON, and every value or key that is not a plain JSON value (String, Integer,
# Float, true, false, nil, Array, Hash; ActiveJob's symbol keys allowed), with the error if
# deserializing raised.
PLAIN = [String, Integer, Float, TrueClass, FalseClass, NilClass, Array, Hash].freeze

def offenders(value, path, found)
  found << "#{path}: #{value.class}" unless PLAIN.include?(value.class)
  case value
  when Array then value.each_with_index { |item, i| offenders(item, "#{path}.#{i}", found) }
  when Hash
    value.each do |key, item|
      found << "#{path} key #{key.inspect}: #{key.class}" unless key.is_a?(String) || key.is_a?(Symbol)
      offenders(item, "#{path}.#{key}", found)
    end
  end
  found
end

Sidekiq.redis { |redis| redis.lrange("queue:default", 0, -1) }.each do |raw|
  job = JSON.parse(raw)
  begin
    args = if job["class"] == "ActiveJob::QueueAdapters::SidekiqAdapter::JobWrapper"
             ActiveJob::Arguments.deserialize(job["args"][0]["arguments"])
           else
             job["args"]
           end
    found = offenders(args, "args", [])
    shown = JSON.generate(args) rescue args.inspect
  rescue Exception => e # rubocop:disable Lint/RescueException: any failure is a finding
    found, shown = ["raised #{e.class}: #{e.message[0, 200]}"], nil
  end
  # U+2028/2029 escaped: the reader splits lines as Python's str.splitlines does.
  puts JSON.generate("jid" => job["jid"], "offenders" => found, "args" => shown).gsub("\u2028", "\\u2028")
                                                                                 .gsub("\u2029", "\\u2029")
end
