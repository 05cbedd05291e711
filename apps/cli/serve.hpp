#pragma once
// `causalqwen serve`: the model behind an HTTP server (cpp-httplib).
//
//   GET  /health           {"status": "ok", "model": PATH}
//   POST /v1/completions   OpenAI-style text completion, optionally streamed as server-sent events
//   POST /v1/causal        the completion with every decision: its P_k, and for a number the Cauchy
//                          median, scale and central interval
//
// Every refusal is a JSON body {"error": {"message", "type"}} with a 4xx status (5xx when the
// server itself failed), whatever the client sent: the server answers or closes, never crashes.
// The first line on stdout names the bound address; SIGTERM or SIGINT stops it (exit code 0)
// after the requests in flight are answered.

#include "cli/generate.hpp"
#include "cli/model_options.hpp"

#include <causalqwen/causalqwen.hpp>

#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <new>
#include <optional>
#include <random>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace causalqwen::cli {

namespace serving {

using Json = nlohmann::ordered_json;

/// A refusal of the request with its HTTP status; the message says what to fix.
class HttpError : public std::runtime_error {
 public:
  HttpError(int status, const std::string& message) : std::runtime_error(message), status_(status) {}
  int status() const { return status_; }

 private:
  int status_;
};

template <class... Parts>
[[noreturn]] void bad_request(const Parts&... parts) {
  std::ostringstream message;
  (message << ... << parts);
  throw HttpError(400, message.str());
}

/// Text from the model or the client may hold ill-formed UTF-8 (a token can be part of a
/// character, a path is raw bytes): it is written with U+FFFD instead of failing the response.
inline std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

/// A client's value quoted in a message, cut short: a wrong-typed field may be a megabyte long.
inline std::string shown(std::string text) {
  constexpr std::size_t limit = 80;
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}
inline std::string shown(const Json& value) { return shown(dump(value)); }

inline void send_json(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

inline void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status,
            {{"error", {{"message", message}, {"type", status < 500 ? "invalid_request_error" : "server_error"}}}});
}

/// Runs a handler's body and turns whatever it throws into an error response: the client's
/// mistakes (HttpError, or a causalqwen::error from the library on its input) are 4xx, anything
/// else is the server's failure (500).
template <class Body>
void answer(httplib::Response& res, Body&& body) {
  try {
    body();
  } catch (const HttpError& e) {
    send_error(res, e.status(), e.what());
  } catch (const causalqwen::error& e) {
    send_error(res, 400, e.what());
  } catch (const std::bad_alloc&) {
    send_error(res, 500, "out of memory");
  } catch (const std::exception& e) {
    send_error(res, 500, e.what());
  }
}

/// The whole body, at most `limit` bytes however it is framed: httplib's payload limit sees only
/// a Content-Length, not a chunked body or one that runs until the connection closes.
inline std::string read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read,
                             std::size_t limit) {
  std::string body;
  bool too_large = false;
  const auto keep = [&](const char* data, std::size_t size) {
    if (size > limit - body.size()) {
      too_large = true;
      return false;
    }
    body.append(data, size);
    return true;
  };
  // httplib's plain reader runs a multipart body through a multipart callback it was not given
  // (std::bad_function_call), so such a body is read part by part; it is refused as not JSON.
  const bool complete =
      req.is_multipart_form_data() ? read([](const httplib::MultipartFormData&) { return true; }, keep) : read(keep);
  if (too_large || res.status == 413)
    throw HttpError(413, "the request body exceeds " + std::to_string(limit) + " bytes");
  if (!complete)
    throw HttpError(res.status == 415 ? 415 : 400,
                    "the request body could not be read (cut short, badly chunked or in an unsupported "
                    "Content-Encoding)");
  return body;
}

inline void require_json_type(const httplib::Request& req) {
  const std::string type = req.get_header_value("Content-Type");
  std::string media = type.substr(0, type.find(';'));
  std::erase_if(media, [](unsigned char c) { return std::isspace(c); });
  std::transform(media.begin(), media.end(), media.begin(), [](unsigned char c) { return std::tolower(c); });
  if (media != "application/json")
    throw HttpError(415, "Content-Type must be application/json, got '" + shown(type) + "'");
}

/// The body as a JSON object. nlohmann's parser enforces RFC 8259 strictly, well-formed UTF-8
/// in strings included (lone surrogate escapes too), so a prompt that parsed is valid UTF-8.
inline Json parse_object(const std::string& body) {
  Json parsed;
  try {
    parsed = Json::parse(body);
  } catch (const Json::exception& e) {
    bad_request("malformed JSON: ", e.what());
  }
  if (!parsed.is_object()) bad_request("the request body must be a JSON object, got ", parsed.type_name());
  return parsed;
}

/// The field `name`, or nullptr when absent or null (null asks for the default, as in OpenAI's API).
inline const Json* field(const Json& body, const char* name) {
  const auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

inline bool flag(const Json& body, const char* name) {
  const Json* value = field(body, name);
  if (!value) return false;
  if (!value->is_boolean()) bad_request('"', name, "\" must be true or false, got ", shown(*value));
  return value->get<bool>();
}

struct GenerationRequest {
  std::string prompt;
  model::GenerationOptions options;
};

/// The fields both generation endpoints share.
inline GenerationRequest parse_generation(const Json& body, std::size_t max_tokens) {
  GenerationRequest r;
  const Json* prompt = field(body, "prompt");
  if (!prompt) bad_request("the field \"prompt\" is missing");
  if (!prompt->is_string()) bad_request("\"prompt\" must be a string, got ", prompt->type_name());
  r.prompt = prompt->get<std::string>();
  if (r.prompt.empty()) bad_request("\"prompt\" is empty");

  r.options.max_tokens = std::min<std::size_t>(16, max_tokens);
  if (const Json* n = field(body, "max_tokens")) {
    if (!n->is_number_integer()) bad_request("\"max_tokens\" must be an integer, got ", shown(*n));
    if (!n->is_number_unsigned() || n->get<std::uint64_t>() < 1 || n->get<std::uint64_t>() > max_tokens)
      bad_request("\"max_tokens\" must lie in [1, ", max_tokens, "], got ", shown(*n));
    r.options.max_tokens = n->get<std::size_t>();
  }

  std::optional<bool> sample;
  if (field(body, "sample")) sample = flag(body, "sample");
  if (const Json* t = field(body, "temperature")) {
    if (!t->is_number() || !(t->get<double>() >= 0))
      bad_request("\"temperature\" must be a number >= 0, got ", shown(*t));
    // The head's noise temperature belongs to the loaded model, shared by every request: a
    // request's temperature only chooses between the argmax (0) and drawing an individual (> 0).
    const bool draws = t->get<double>() > 0;
    if (sample && *sample != draws)
      bad_request("\"sample\": ", *sample ? "true" : "false", " contradicts \"temperature\": ", shown(*t));
    sample = draws;
  }
  r.options.sample = sample.value_or(false);

  if (const Json* seed = field(body, "seed")) {
    if (!seed->is_number_unsigned()) bad_request("\"seed\" must be an integer >= 0, got ", shown(*seed));
    r.options.seed = seed->get<std::uint64_t>();
  } else if (r.options.sample) {
    // Without a seed each request draws anew, as with OpenAI's API.
    std::random_device entropy;
    r.options.seed = std::uint64_t{entropy()} << 32 | entropy();
  }
  return r;
}

/// The endpoints' work, shared by the HTTP worker threads.
///
/// Concurrent model::generate calls on the one const model are safe, so they are not serialised:
/// generation only reads the model (const member functions, no mutable members anywhere in the
/// library, function-local statics const and initialised once, thread-safely) and keeps its own
/// state per call (KV cache, random generator, activations); the tokenizer is documented as
/// immutable and safe to share. Each CpuBackend kernel opens its own OpenMP parallel region with
/// the backend's thread count, and libgomp gives every calling thread its own team, so requests
/// run side by side deterministically (the greedy answer does not depend on the load), using up
/// to --workers x --threads cores.
class Service {
 public:
  Service(const Model& lm, std::string model_name, std::size_t max_tokens, std::size_t max_request_bytes)
      : lm_(lm), model_name_(std::move(model_name)), max_tokens_(max_tokens), max_request_bytes_(max_request_bytes) {}

  /// The prompt encoded, refused before any work when it and the tokens asked for do not fit the
  /// model's context (the last decision is not fed back, so it needs no position).
  NumberedText encoded_prompt(const GenerationRequest& r) const {
    NumberedText prompt = lm_.encode(r.prompt);
    const auto context = static_cast<std::size_t>(lm_.backbone().config().max_position_embeddings);
    if (prompt.ids.size() + r.options.max_tokens - 1 > context)
      bad_request("the prompt's ", prompt.ids.size(), " tokens and \"max_tokens\": ", r.options.max_tokens,
                  " do not fit the model's context of ", context, " positions");
    return prompt;
  }

  void health(httplib::Response& res) const { send_json(res, 200, {{"status", "ok"}, {"model", model_name_}}); }

  void completions(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    answer(res, [&] {
      const Json body = json_body(req, res, read);
      const GenerationRequest r = parse_generation(body, max_tokens_);
      const bool stream = flag(body, "stream");
      const NumberedText prompt = encoded_prompt(r);
      Json head = {{"id", "cmpl-" + std::to_string(++completions_)},
                   {"object", "text_completion"},
                   {"created", std::time(nullptr)},
                   {"model", model_name_}};
      const auto choice = [](const std::string& text, const Json& reason) {
        return Json::array({{{"text", text}, {"index", 0}, {"finish_reason", reason}}});
      };
      if (!stream) {
        const model::Generation g = model::generate(lm_, prompt, r.options);
        head["choices"] = choice(g.text, finish_reason(g));
        // The stop token counts: it is one of the max_tokens decisions.
        head["usage"] = {{"prompt_tokens", prompt.ids.size()},
                         {"completion_tokens", g.tokens.size()},
                         {"total_tokens", prompt.ids.size() + g.tokens.size()}};
        send_json(res, 200, head);
        return;
      }
      // Live: the request was checked above, so from here the answer is 200 and the generation
      // runs inside the stream, one event per decision as it is made; a client that goes away ends
      // it. A failure after the first event can only be reported in the stream itself.
      res.set_header("Cache-Control", "no-cache");
      res.set_chunked_content_provider(
          "text/event-stream", [this, prompt, options = r.options, head, choice](std::size_t, httplib::DataSink& sink) mutable {
            const auto send = [&sink](const std::string& payload) {
              const std::string event = "data: " + payload + "\n\n";
              return sink.write(event.data(), event.size());
            };
            model::TextStream<Model> text(lm_);
            options.on_decision = [&](const model::Generation& g, bool last) {
              head["choices"] = choice(text.next(g, last), last ? finish_reason(g) : Json());
              return send(dump(head));
            };
            try {
              model::generate(lm_, prompt, options);
            } catch (const std::exception& e) {
              send(dump({{"error", {{"message", e.what()}, {"type", "server_error"}}}}));
            }
            if (!send("[DONE]")) return false;
            sink.done();
            return true;
          });
    });
  }

  void causal(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) const {
    answer(res, [&] {
      const Json body = json_body(req, res, read);
      const GenerationRequest r = parse_generation(body, max_tokens_);
      if (flag(body, "stream")) bad_request("\"stream\" is offered by /v1/completions only");
      double level = 0.9;
      if (const Json* l = field(body, "level")) {
        if (!l->is_number() || !(l->get<double>() > 0 && l->get<double>() < 1))
          bad_request("\"level\" must be a number strictly between 0 and 1, got ", shown(*l));
        level = l->get<double>();
      }
      const model::Generation g = model::generate(lm_, encoded_prompt(r), r.options);

      Json decisions = Json::array();
      for (std::size_t i = 0; i < g.tokens.size(); ++i) {
        const bool number = g.tokens[i] == lm_.num_token();
        Json d = {{"token", g.tokens[i]},
                  {"piece", piece_of(lm_, g, i)},
                  {"kind", number ? "number" : "token"},
                  {"probability", g.probabilities[i]}};
        if (number) {
          // A sampled number is the drawn individual's value, a point: scale 0, interval [v, v].
          const auto interval = model::central_interval(g.values[i], g.value_scales[i], level);
          d["loc"] = g.values[i];
          d["scale"] = g.value_scales[i];
          d["interval"] = Json::array({interval.low, interval.high});
          d["level"] = level;
        }
        decisions.push_back(std::move(d));
      }
      send_json(res, 200, {{"text", g.text}, {"decisions", std::move(decisions)}, {"finish_reason", finish_reason(g)}});
    });
  }

  /// Reads (and so clears off the connection) the body of a request no endpoint takes, then
  /// refuses it: left unread, keep-alive would parse the body as the next request.
  void drain_and_refuse(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) const {
    answer(res, [&] {
      read_body(req, res, read, max_request_bytes_);
      refuse(req, res);
    });
  }

  /// 405 with the Allow header on a known path, 404 elsewhere.
  static void refuse(const httplib::Request& req, httplib::Response& res) {
    const char* allowed = req.path == "/health"                                      ? "GET, HEAD"
                          : req.path == "/v1/completions" || req.path == "/v1/causal" ? "POST"
                                                                                      : nullptr;
    if (!allowed) {
      send_error(res, 404, "no endpoint " + shown(req.path) + " (there are /health, /v1/completions and /v1/causal)");
      return;
    }
    res.set_header("Allow", allowed);
    send_error(res, 405, shown(req.method) + " is not allowed on " + req.path + " (use " + allowed + ")");
  }

 private:
  static Json finish_reason(const model::Generation& g) { return g.stopped ? "stop" : "length"; }

  Json json_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) const {
    const std::string body = read_body(req, res, read, max_request_bytes_);
    require_json_type(req);
    return parse_object(body);
  }

  const Model& lm_;
  std::string model_name_;
  std::size_t max_tokens_, max_request_bytes_;
  std::atomic<std::uint64_t> completions_{0};
};

/// The messages of the refusals httplib makes itself, before any handler runs.
inline std::string httplib_refusal(int status) {
  switch (status) {
    case 400: return "malformed or unsupported HTTP request";
    case 414: return "the request URI is longer than " + std::to_string(CPPHTTPLIB_REQUEST_URI_MAX_LENGTH) + " bytes";
    case 416: return "the Range header cannot be satisfied";
    default: return "the request was refused (HTTP " + std::to_string(status) + ")";
  }
}

inline void mount(httplib::Server& server, Service& service, std::size_t workers, std::size_t max_request_bytes) {
  using httplib::ContentReader, httplib::Request, httplib::Response, httplib::Server;
  using BodyHandler = Server::HandlerWithContentReader;
  server.Get("/health", [&service](const Request&, Response& res) { service.health(res); });
  server.Post("/v1/completions", BodyHandler([&service](const Request& req, Response& res, const ContentReader& read) {
                service.completions(req, res, read);
              }));
  server.Post("/v1/causal", BodyHandler([&service](const Request& req, Response& res, const ContentReader& read) {
                service.causal(req, res, read);
              }));
  // Every other request, whatever its method (HEAD goes with GET; httplib refuses unknown
  // methods with 400 itself).
  const BodyHandler drain = [&service](const Request& req, Response& res, const ContentReader& read) {
    service.drain_and_refuse(req, res, read);
  };
  server.Post(".*", drain);
  server.Put(".*", drain);
  server.Patch(".*", drain);
  server.Delete(".*", drain);
  server.Get(".*", &Service::refuse);
  server.Options(".*", &Service::refuse);

  server.set_error_handler(Server::HandlerWithResponse([](const Request&, Response& res) {
    // httplib's own refusals (malformed request line, URI too long, ...) come with no body.
    if (!res.body.empty()) return Server::HandlerResponse::Unhandled;
    send_error(res, res.status, httplib_refusal(res.status));
    return Server::HandlerResponse::Handled;
  }));
  // What escapes httplib's routing outside the handlers (its std::regex matching, say).
  server.set_exception_handler([](const Request&, Response& res, std::exception_ptr failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const std::exception& e) {
      send_error(res, 500, e.what());
    } catch (...) {
      send_error(res, 500, "unknown failure");
    }
  });

  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };
  server.set_payload_max_length(max_request_bytes);
  // A silent or stalled client holds a worker this long at most.
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  // Stopping waits for the workers, and a worker idling on a keep-alive connection returns only
  // when that connection times out: a short keep-alive keeps shutdown prompt.
  server.set_keep_alive_timeout(2);
}

/// The write end of the pipe that wakes StopOnSignal's watcher; -1 when none is installed.
inline std::atomic<int> signal_wake_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler may only touch lock-free atomics");

/// Stops `server` on SIGTERM or SIGINT for as long as it lives. The handler may only do
/// async-signal-safe work, so it writes a byte to a pipe; a watcher thread reads it and stops
/// the server, which then finishes the requests in flight and returns from listen.
class StopOnSignal {
 public:
  explicit StopOnSignal(httplib::Server& server) : server_(server) {
    require(::pipe2(pipe_, O_CLOEXEC) == 0, "cannot create a pipe for signal handling: ", std::strerror(errno));
    signal_wake_fd = pipe_[1];
    struct sigaction action {};
    action.sa_handler = &on_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, &previous_term_);
    sigaction(SIGINT, &action, &previous_int_);
    watcher_ = std::thread([this] { watch(); });
  }
  ~StopOnSignal() {
    finished_ = true;
    on_signal(0);  // wakes the watcher if no signal came
    watcher_.join();
    sigaction(SIGTERM, &previous_term_, nullptr);
    sigaction(SIGINT, &previous_int_, nullptr);
    signal_wake_fd = -1;
    ::close(pipe_[0]);
    ::close(pipe_[1]);
  }
  StopOnSignal(const StopOnSignal&) = delete;
  StopOnSignal& operator=(const StopOnSignal&) = delete;

 private:
  static void on_signal(int) {
    const int saved = errno;
    const char byte = 's';
    [[maybe_unused]] const auto written = ::write(signal_wake_fd.load(), &byte, 1);
    errno = saved;
  }

  void watch() {
    char byte = 0;
    while (::read(pipe_[0], &byte, 1) < 0 && errno == EINTR) {
    }
    // httplib's stop() does nothing before listening has begun (the signal would be lost) and
    // asserts when called twice: it is called once, once the server runs.
    while (!finished_ && !server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!finished_) server_.stop();
  }

  httplib::Server& server_;
  int pipe_[2] = {-1, -1};
  std::atomic<bool> finished_{false};
  struct sigaction previous_term_ {}, previous_int_ {};
  std::thread watcher_;
};

/// host:port as a client writes it (an IPv6 address in brackets).
inline std::string endpoint(const std::string& host, int port) {
  return (host.find(':') == std::string::npos ? host : "[" + host + "]") + ":" + std::to_string(port);
}

}  // namespace serving

struct ServeCommand {
  ModelOptions model;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::size_t workers = 4;
  std::size_t max_request_bytes = std::size_t{1} << 20;
  std::size_t max_tokens = 256;

  void attach(CLI::App& app) {
    model.attach(app);
    app.add_option("--host", host, "address to listen on")->capture_default_str();
    app.add_option("--port", port, "port to listen on; 0 picks a free one (printed on the first line of stdout)")
        ->check(CLI::Range(0, 65535))
        ->capture_default_str();
    app.add_option("--workers", workers, "HTTP worker threads: requests handled at once")
        ->check(CLI::Range(1, 1024))
        ->capture_default_str();
    app.add_option("--max-request-bytes", max_request_bytes, "largest request body accepted (bigger: 413)")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 30))
        ->capture_default_str();
    app.add_option("--max-tokens", max_tokens, "most new tokens a request may ask for")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
  }

  int run() const {
    // --threads is per generation; up to --workers of them run at once.
    const Model lm = model.load();
    serving::Service service(lm, model.path.string(), max_tokens, max_request_bytes);
    httplib::Server server;
    serving::mount(server, service, workers, max_request_bytes);
    const serving::StopOnSignal stop_on_signal(server);
    errno = 0;
    const int bound = port == 0 ? server.bind_to_any_port(host) : server.bind_to_port(host, port) ? port : -1;
    if (bound <= 0)
      fail("cannot listen on ", serving::endpoint(host, port),
           errno != 0 ? std::string(": ") + std::strerror(errno) : std::string(" (not an address of this machine?)"));
    std::printf("listening on %s\n", serving::endpoint(host, bound).c_str());
    std::fflush(stdout);
    require(server.listen_after_bind(), "the server on ", serving::endpoint(host, bound),
            " stopped accepting connections: ", std::strerror(errno));
    return 0;
  }
};

}  // namespace causalqwen::cli
