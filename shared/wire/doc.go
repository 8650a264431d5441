// Package wire is the format of what μNet agents send to the collector:
// batches of device samples, interface samples and events, numbered per
// agent. In the manner of Prometheus remote-write, a batch is a protobuf
// message (wire.proto, Batch.version 1) compressed with zstd, POSTed as
// the body of one HTTP request.
//
// Go code on either side deals in Batch, whose contents are the
// shared/model types; the protobuf types are internal to this package:
//
//	body, err := wire.Encode(&wire.Batch{Agent: "par1-a", Seq: 42, Created: now, Samples: s})
//	b, err := wire.Decode(body, wire.DefaultLimits())
//
// Encoder and Decoder do the same with their zstd state kept between calls
// (both are safe for concurrent use); the functions share one of each.
//
// # The ingest contract
//
// The agent sends
//
//	POST /api/v1/ingest
//	Content-Type: application/x-protobuf;proto=unet.wire.v1.Batch  (ContentType)
//	Content-Encoding: zstd                                          (ContentEncoding)
//	X-Unet-Agent: <agent name>                                      (HeaderAgent)
//	body: Encode's output
//
// and the collector answers
//
//   - 200 once the batch is durable (in ClickHouse): the agent deletes it
//     from its spool. A batch whose (agent, seq) the collector already
//     stored is a duplicate: it is answered 200 too, and not stored again
//     (agents resend after a restart or a lost answer).
//   - 400 for a body Decode refuses (malformed protobuf or zstd, an
//     unknown format version, a missing agent or seq), or whose agent
//     differs from the X-Unet-Agent header; 415 for another Content-Type or
//     Content-Encoding; 413 for a body over the size limits (errors.Is(err,
//     ErrTooLarge)). The agent does not send such a batch again: it moves
//     it aside (dead letter) and says so loudly. The JSON error's message
//     should say what was wrong: the agent logs it.
//   - 429 or 503, with Retry-After (seconds or an HTTP date), when the
//     collector cannot take more now (ClickHouse slow or down, queues
//     full): the agent pauses and sends the batch again later. 408 and
//     other 5xx are retried with exponential back-off.
//
// Other statuses (401, 403, 404…) say the agent or the collector is
// misconfigured, not that the batch is bad: the agent keeps the batch and
// retries, logging errors. Upgrade collectors before agents: a collector
// refuses a format version newer than its own with a 400.
//
// Sequence numbers start at 1 for an agent and are never reused (the
// agent's spool persists them), but they may have gaps (a crash that tore
// the spool's last record skips numbers it may have used): the collector
// must dedupe by (agent, seq), not expect contiguity. Batches arrive in
// no guaranteed order (several are in flight, retries overtake). Decode
// checks the format; it does not check that an agent's name matches the
// header: the collector does.
package wire
