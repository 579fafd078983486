# Enqueue ProcessRequestJobs the ways a Rails app does, then print each job's jid, one a line.
# Run with `ruby -r ./tests/ruby/app.rb tests/ruby/enqueue.rb` (TALLY_FORM picks the form).
UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
AT = Time.utc(2026, 11, 23, 13, 18, 30)

def event(n)
  { "ip" => "203.0.113.#{n}", "user_agent" => UA, "url" => "https://shop.example.com/p#{n}?utm_source=rb",
    "time" => (AT + n).iso8601 }
end

jids = []
if ENV.fetch("TALLY_FORM", "plain") == "activejob"
  # symbol keys, as a controller builds the hash
  jids << ProcessRequestJob.perform_later(event(1).transform_keys(&:to_sym)).provider_job_id
  # keyword arguments (ruby2_keywords marker), with a Time value (ActiveJob's TimeSerializer)
  kwargs = event(2).transform_keys(&:to_sym).merge(time: AT + 2)
  jids << ProcessRequestJob.perform_later(**kwargs).provider_job_id
  # controller-style params: what params.permit(...).to_h gives, a HashWithIndifferentAccess
  params = ActiveSupport::HashWithIndifferentAccess.new(event(3).merge("properties" => { "plan" => "pro" }))
  jids << ProcessRequestJob.perform_later(params).provider_job_id
else
  jids << ProcessRequestJob.perform_async(event(4))
  jids.concat(Sidekiq::Client.push_bulk("class" => ProcessRequestJob, "args" => [[event(5)], [event(6)]]))
end
puts jids
