// dschat bench --model DIR [-p 512] [-n 128] [-t THREADS] [--type f32|bf16|q8_0|q4_0]
//              [--type-output TYPE] [-r REPS] [--json]
// Throughput like llama-bench: after one warm-up run, `reps` times a prefill of p random tokens
// (one batched append into an empty cache) and, separately, a decode of n tokens one at a time
// (absorbed-MLA path, each into an empty cache). Reports mean ± sd tokens/s of each, the load time
// and the peak resident set size. Token ids come from a fixed-seed generator: no tokenizer needed.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "app/backend/loaded_model.h"
#include "app/cli/command_line.h"
#include "app/cli/commands.h"
#include "app/cli/weight_type_option.h"
#include "engine/model.h"
#include "common/out_of_memory.h"

namespace dschat {
namespace {

const char* kBenchHelp =
    "usage: dschat bench --model DIR [-p 512] [-n 128] [-t THREADS] [--type f32|bf16|q8_0|q4_0]\n"
    "                    [--type-output TYPE] [-r REPS] [--json]\n"
    "  Measures prefill (p tokens in one batch) and decode (n tokens one at a time) speed in\n"
    "  tokens/s, mean +- sd over REPS repetitions after a warm-up, plus load time and peak RSS.\n"
    "  --model PATH     model directory, .gguf or .pt file (default: the bundled model)\n"
    "  -p, --n-prompt   prefill tokens (default 512; 0 skips prefill)\n"
    "  -n, --n-gen      decode tokens (default 128; 0 skips decode)\n"
    "  -t, --threads    worker threads (default: all)\n"
    "  --type           weight type at run time (default: the checkpoint's own)\n"
    "  --type-output    weight type of lm_head and embeddings (default: as --type)\n"
    "  -r, --repetitions  measured repetitions (default 5)\n"
    "  --json           print one JSON object instead of the table\n"
    "  -h, --help       this help\n";

struct Stats {
  double mean = 0, sd = 0;
};

// Sample mean and standard deviation (n - 1), as llama-bench reports them.
Stats stats_of(const std::vector<double>& v) {
  Stats s;
  if (v.empty()) return s;
  for (double x : v) s.mean += x;
  s.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.sd = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return s;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Prefill batches of at most this many tokens, as llama-bench's default -b 2048.
constexpr int kPrefillBatch = 2048;

// A lower bound on what a bench of `context` tokens allocates besides the weights: the latent
// cache (each layer keeps kv_lora_rank + the rotary key per token, engine/deepseek/latent_cache.h)
// and, per thread, the attention scores of one head over the batch (`chunk` x `context` floats,
// engine/deepseek/mla_attention.cpp). Checked before anything is allocated, so `-p 1048576` is
// refused at once instead of running out of memory after minutes (it needed over 6 GB).
uint64_t bench_memory_estimate(const ModelConfig& c, int context, int chunk, int threads) {
  const uint64_t per_token = uint64_t(c.num_hidden_layers) *
                             (uint64_t(c.kv_lora_rank) + uint64_t(c.qk_rope_head_dim) * c.rotary_key_heads()) * sizeof(float);
  return per_token * uint64_t(context) + uint64_t(threads) * uint64_t(chunk) * uint64_t(context) * sizeof(float);
}

uint64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

std::string gib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GiB", static_cast<double>(bytes) / double(1ull << 30));
  return text;
}

uint64_t peak_rss_bytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<uint64_t>(usage.ru_maxrss) * 1024;  // Linux reports kilobytes
}

// Tokens per second of one prefill of `ids` into an empty cache.
double time_prefill(InferenceContext& ctx, const std::vector<int32_t>& ids, std::vector<float>& logits) {
  ctx.truncate(0);
  const auto start = std::chrono::steady_clock::now();
  ctx.append(ids, logits);
  return static_cast<double>(ids.size()) / seconds_since(start);
}

// Tokens per second of decoding `ids` one at a time into an empty cache (llama-bench's tg).
double time_decode(InferenceContext& ctx, const std::vector<int32_t>& ids, std::vector<float>& logits) {
  ctx.truncate(0);
  const auto start = std::chrono::steady_clock::now();
  for (int32_t id : ids) ctx.append(std::span<const int32_t>(&id, 1), logits);
  return static_cast<double>(ids.size()) / seconds_since(start);
}

}  // namespace

int cmd_bench(const Args& args) {
  try {
    CommandLine cl(args, {"--model", "--n-prompt", "--n-gen", "--threads", "--type", "--type-output", "--repetitions"},
                   {"--json", "--help"},
                   {{"-p", "--n-prompt"}, {"-n", "--n-gen"}, {"-t", "--threads"}, {"-r", "--repetitions"},
                    {"-h", "--help"}});
    if (cl.has("--help")) {
      std::fputs(kBenchHelp, stdout);
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    const int prompt_tokens = static_cast<int>(cl.get_int("--n-prompt", 512, 0, 1 << 20));
    const int gen_tokens = static_cast<int>(cl.get_int("--n-gen", 128, 0, 1 << 20));
    const int reps = static_cast<int>(cl.get_int("--repetitions", 5, 1, 1000));
    const bool json = cl.has("--json");
    const TypeChoice type = parse_weight_type("--type", cl.get_or("--type", "native"));
    const TypeChoice output_type =
        cl.has("--type-output") ? parse_weight_type("--type-output", *cl.get("--type-output")) : type;

    LoadOptions options;
    options.threads = static_cast<int>(cl.get_int("--threads", 0, 0, 1024));
    options.weight_type = type.type;
    options.output_weight_type = output_type.type;
    const auto load_start = std::chrono::steady_clock::now();
    const std::string model_dir = cl.get_or("--model", default_model_dir());
    auto model = while_allocating("the model " + model_dir, [&] { return Model::load(model_dir, options); });
    const double load_s = seconds_since(load_start);
    const ModelConfig& config = model->config();

    const int context = std::max(std::max(prompt_tokens, gen_tokens), 1);
    if (context > config.max_position_embeddings) {
      throw CommandLineError("-p/-n: " + std::to_string(context) + " tokens exceed the model's context of " +
                             std::to_string(config.max_position_embeddings));
    }
    const int chunk = std::clamp(prompt_tokens, 1, kPrefillBatch);
    const int threads_used = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
    const uint64_t needed = bench_memory_estimate(config, context, chunk, std::max(threads_used, 1));
    if (const uint64_t ram = physical_memory_bytes(); ram > 0 && needed > ram) {
      throw CommandLineError("-p/-n: " + std::to_string(context) + " tokens need about " + gib(needed) +
                             " (the latent cache and the attention scores of a " + std::to_string(chunk) +
                             "-token batch), more than this machine's " + gib(ram) + " of memory");
    }
    auto ctx = InferenceContext::create(*model, context);
    ctx->set_prefill_chunk(chunk);

    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(config.vocab_size - 1));
    std::vector<int32_t> prompt(prompt_tokens), generated(gen_tokens);
    for (auto& id : prompt) id = pick(rng);
    for (auto& id : generated) id = pick(rng);
    std::vector<float> logits(config.vocab_size);

    // Warm-up: one short run of each kind (pages in every weight and sizes the scratch buffers).
    if (prompt_tokens > 0) time_prefill(*ctx, prompt, logits);
    if (gen_tokens > 0) time_decode(*ctx, std::vector<int32_t>(generated.begin(), generated.begin() + std::min(gen_tokens, 4)), logits);

    std::vector<double> prefill_tps, decode_tps;
    for (int r = 0; r < reps; ++r) {
      if (prompt_tokens > 0) prefill_tps.push_back(time_prefill(*ctx, prompt, logits));
      if (gen_tokens > 0) decode_tps.push_back(time_decode(*ctx, generated, logits));
    }
    const Stats prefill = stats_of(prefill_tps), decode = stats_of(decode_tps);
    const uint64_t rss = peak_rss_bytes();
    const std::string type_name = type.name == output_type.name ? type.name : type.name + "/" + output_type.name;
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());

    if (json) {
      std::printf(
          "{\"type\": \"%s\", \"threads\": %d, \"prefill_tokens\": %d, \"decode_tokens\": %d, \"prefill_tps\": %.3f, "
          "\"prefill_tps_sd\": %.3f, \"decode_tps\": %.3f, \"decode_tps_sd\": %.3f, \"load_s\": %.4f, "
          "\"peak_rss_bytes\": %llu}\n",
          type_name.c_str(), threads, prompt_tokens, gen_tokens, prefill.mean, prefill.sd, decode.mean, decode.sd,
          load_s, static_cast<unsigned long long>(rss));
    } else {
      std::printf("model: %s (%.1f M parameters, %.1f MiB of weights as %s)\n", model->name().c_str(),
                  static_cast<double>(model->parameter_count()) / 1e6,
                  static_cast<double>(model->weight_bytes()) / (1024.0 * 1024.0), type_name.c_str());
      std::printf("threads: %s, repetitions: %d, load: %.3f s, peak RSS: %.1f MiB\n",
                  std::to_string(threads).c_str(), reps, load_s,
                  static_cast<double>(rss) / (1024.0 * 1024.0));
      std::printf("| %-8s | %-7s | %-6s | %20s |\n", "type", "threads", "test", "t/s");
      std::printf("|----------|---------|--------|----------------------|\n");
      if (prompt_tokens > 0) {
        std::printf("| %-8s | %7s | %-6s | %10.2f ± %7.2f |\n", type_name.c_str(),
                    std::to_string(threads).c_str(), ("pp" + std::to_string(prompt_tokens)).c_str(),
                    prefill.mean, prefill.sd);
      }
      if (gen_tokens > 0) {
        std::printf("| %-8s | %7s | %-6s | %10.2f ± %7.2f |\n", type_name.c_str(),
                    std::to_string(threads).c_str(), ("tg" + std::to_string(gen_tokens)).c_str(),
                    decode.mean, decode.sd);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    return report_error("bench", error_message(e));
  }
}

}  // namespace dschat
