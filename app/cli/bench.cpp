// dschat bench --model DIR [-p 512] [-n 128] [-d DEPTH] [-t THREADS] [--type f32|bf16|q8_0|q4_0]
//              [--type-output TYPE] [--cache-type f32|bf16|fp8|q8_0] [-r REPS] [--json]
//              [--mtp [--draft N] [--draft-vocab N]]
// Throughput like llama-bench: after one warm-up run, `reps` times a prefill of p random tokens
// (one batched append) and, separately, a decode of n tokens one at a time (absorbed-MLA path),
// each after the DEPTH tokens already in the cache (llama-bench -d: the depth is prefilled once,
// untimed, and every run truncates back to it). Reports mean ± sd tokens/s of each, the load time
// and the peak resident set size. Token ids come from a fixed-seed generator: no tokenizer needed.
// --mtp: decode becomes greedy generation of n tokens after a 16-token prompt, alternately without
// and with MTP speculative decoding, reporting both speeds and the acceptance of the drafts (on
// the model's own greedy continuation of random ids: a real prompt is `dschat run --draft N -v`).
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
#include "app/cli/speculation_cost.h"
#include "app/cli/model_option.h"
#include "app/cli/weight_type_option.h"
#include "engine/generation.h"
#include "engine/model.h"
#include "common/out_of_memory.h"
#include "common/system_memory.h"

namespace dschat {
namespace {

const char* kBenchHelp =
    "usage: dschat bench --model DIR [-p 512] [-n 128] [-d DEPTH] [-t THREADS] [--type f32|bf16|q8_0|q4_0]\n"
    "                    [--type-output TYPE] [--cache-type f32|bf16|fp8|q8_0] [-r REPS] [--json]\n"
    "  Measures prefill (p tokens in one batch) and decode (n tokens one at a time) speed in\n"
    "  tokens/s, mean +- sd over REPS repetitions after a warm-up, plus load time and peak RSS.\n"
    "  --model PATH     model directory, .gguf or .pt file, or a NAME of dschat list (default: the bundled model)\n"
    "  -p, --n-prompt   prefill tokens (default 512; 0 skips prefill)\n"
    "  -n, --n-gen      decode tokens (default 128; 0 skips decode)\n"
    "  -d, --depth N    tokens already in the cache before each prefill and decode (default 0)\n"
    "  --cache-type T   latent KV cache type: f32 (default), bf16, fp8 (FlashMLA's E4M3 latent\n"
    "                   with a scale per 128 values, rotary key in BF16) or q8_0\n"
    "  -t, --threads    worker threads (default: all)\n"
    "  --type           weight type at run time (default: the checkpoint's own)\n"
    "  --type-output    weight type of lm_head and embeddings (default: as --type)\n"
    "  -r, --repetitions  measured repetitions (default 5)\n"
    "  --json           print one JSON object instead of the table (with the weight and cache bytes\n"
    "                   a decoded token reads, and the GB/s of decode)\n"
    "  --mtp            decode as greedy generation, alternately without and with MTP speculative\n"
    "                   decoding (the model's multi-token-prediction module drafts, one pass verifies)\n"
    "  --draft N        with --mtp: tokens drafted per step (1-3, default 3)\n"
    "  --draft-vocab N  with --mtp: draft from the first N token ids only (default 8192; 0 = all)\n"
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
// cache (each layer keeps kv_lora_rank + the rotary key per token in the cache type,
// engine/deepseek/latent_cache.h), per thread the attention scores of one head over the batch
// (`chunk` x `context` floats, engine/deepseek/mla_attention.cpp) and, for a cache not in F32, the
// full form's decoded copy of one layer's rows. Checked before anything is allocated, so
// `-p 1048576` is refused at once instead of running out of memory after minutes (it needed over 6 GB).
uint64_t bench_memory_estimate(const ModelConfig& c, CacheType type, int context, int chunk, int threads) {
  const uint64_t per_token = latent_cache_bytes_per_token(c, type);
  const uint64_t decoded = type == CacheType::F32 ? 0
                                                  : uint64_t(context) * sizeof(float) *
                                                        (uint64_t(c.kv_lora_rank) + uint64_t(c.qk_rope_head_dim) * c.rotary_key_heads());
  return per_token * uint64_t(context) + uint64_t(threads) * uint64_t(chunk) * uint64_t(context) * sizeof(float) + decoded;
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

// Tokens per second of one prefill of `ids` after the first `depth` cached tokens.
double time_prefill(InferenceContext& ctx, int depth, const std::vector<int32_t>& ids, std::vector<float>& logits) {
  ctx.truncate(depth);
  const auto start = std::chrono::steady_clock::now();
  ctx.append(ids, logits);
  return static_cast<double>(ids.size()) / seconds_since(start);
}

// Tokens per second of decoding `ids` one at a time after the first `depth` cached tokens
// (llama-bench's tg).
double time_decode(InferenceContext& ctx, int depth, const std::vector<int32_t>& ids, std::vector<float>& logits) {
  ctx.truncate(depth);
  const auto start = std::chrono::steady_clock::now();
  for (int32_t id : ids) ctx.append(std::span<const int32_t>(&id, 1), logits);
  return static_cast<double>(ids.size()) / seconds_since(start);
}

class NoText : public TokenTextDecoder {
 public:
  std::string push(int32_t) override { return {}; }
  std::string finish() override { return {}; }
  void reset() override {}
};

// Greedy generation of n tokens after `prompt`, without (draft 0) or with speculation.
GenerationResult time_generation(const Model& model, InferenceContext& ctx, const std::vector<int32_t>& prompt, int n,
                                 int draft) {
  ctx.truncate(0);
  SamplingParams greedy;
  greedy.temperature = 0;
  Sampler sampler(greedy);
  NoText text;
  GenerationOptions options;
  options.max_tokens = n;
  options.draft_tokens = draft;
  return generate(model, ctx, prompt, sampler, text, options, nullptr);
}

// --mtp: alternating runs; prints speeds, acceptance and whether the tokens agree.
int bench_mtp(const Model& model, int gen_tokens, int reps, int draft, int draft_vocab, int threads, bool json,
              const std::string& type_name) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(model.config().vocab_size - 1));
  std::vector<int32_t> prompt(16);
  for (auto& id : prompt) id = pick(rng);
  const int capacity = static_cast<int>(prompt.size()) + gen_tokens + 1;
  auto plain = InferenceContext::create(model, capacity);
  ContextOptions mtp;
  mtp.mtp = true;
  mtp.draft_vocab = draft_vocab;
  auto speculative = InferenceContext::create(model, capacity, mtp);
  if (!speculative->can_draft()) throw ModelError(model.name() + ": the model has no multi-token-prediction module");
  time_generation(model, *plain, prompt, std::min(gen_tokens, 8), 0);  // warm-up
  time_generation(model, *speculative, prompt, std::min(gen_tokens, 8), draft);
  std::vector<double> plain_tps, mtp_tps;
  int drafted = 0, accepted = 0, steps = 0;
  bool same = true;
  for (int r = 0; r < reps; ++r) {
    const GenerationResult a = time_generation(model, *plain, prompt, gen_tokens, 0);
    const GenerationResult b = time_generation(model, *speculative, prompt, gen_tokens, draft);
    plain_tps.push_back(a.stats.decode_tokens_per_second);
    mtp_tps.push_back(b.stats.decode_tokens_per_second);
    drafted += b.stats.drafted_tokens;
    accepted += b.stats.accepted_tokens;
    steps += b.stats.verify_steps;
    same = same && a.tokens == b.tokens;
  }
  const Stats p = stats_of(plain_tps), m = stats_of(mtp_tps);
  const double rate = drafted ? double(accepted) / drafted : 0, per_step = steps ? double(accepted) / steps : 0;
  const SpeculationCost cost = measure_speculation_cost(model, *speculative, prompt, std::max(15, 3 * reps));
  if (json) {
    std::printf("{\"type\": \"%s\", \"threads\": %d, \"decode_tokens\": %d, \"draft\": %d, \"draft_vocab\": %d, "
                "\"decode_tps\": %.3f, \"decode_tps_sd\": %.3f, \"mtp_decode_tps\": %.3f, \"mtp_decode_tps_sd\": %.3f, "
                "\"acceptance\": %.4f, \"accepted_per_step\": %.4f, \"same_tokens\": %s, \"step_ms\": %.4f, "
                "\"draft_step_ms\": %.4f, \"verify_ms\": [%.4f, %.4f, %.4f], \"break_even_acceptance\": [%.4f, %.4f, %.4f]}\n",
                type_name.c_str(), threads, gen_tokens, draft, draft_vocab, p.mean, p.sd, m.mean, m.sd, rate, per_step,
                same ? "true" : "false", cost.step_ms, cost.draft_ms, cost.verify_ms[1], cost.verify_ms[2],
                cost.verify_ms[3], break_even_acceptance(cost, 1), break_even_acceptance(cost, 2),
                break_even_acceptance(cost, 3));
    return same ? 0 : 1;
  }
  std::printf("model: %s, %s, threads %d, greedy tg%d, repetitions %d, draft %d, draft vocab %d\n",
              model.name().c_str(), type_name.c_str(), threads, gen_tokens, reps, draft, draft_vocab);
  std::printf("| %-12s | %20s |\n", "decode", "t/s");
  std::printf("|--------------|----------------------|\n");
  std::printf("| %-12s | %10.2f ± %7.2f |\n", "plain", p.mean, p.sd);
  std::printf("| %-12s | %10.2f ± %7.2f |\n", ("mtp draft " + std::to_string(draft)).c_str(), m.mean, m.sd);
  std::printf("speed-up %.2fx; drafts accepted %d of %d (%.1f%%), %.2f per step; tokens %s\n",
              p.mean > 0 ? m.mean / p.mean : 0, accepted, drafted, 100 * rate, per_step,
              same ? "identical" : "DIFFER (bug)");
  std::printf("cost (medians, in decode steps of %.3f ms): draft step %.2f; verify of k+1 tokens: ", cost.step_ms,
              cost.draft_ms / cost.step_ms);
  for (int k = 1; k <= 3; ++k) std::printf("%sk=%d %.2f", k > 1 ? ", " : "", k, cost.verify_ms[k] / cost.step_ms);
  std::printf("\nbreak-even acceptance per draft: ");
  for (int k = 1; k <= 3; ++k) {
    const double a = break_even_acceptance(cost, k);
    if (a > 1) std::printf("%sk=%d never", k > 1 ? ", " : "", k);
    else std::printf("%sk=%d %.0f%%", k > 1 ? ", " : "", k, 100 * a);
  }
  std::printf("; expected speed-up at the measured %.0f%%: %.2fx\n", 100 * rate, expected_speedup(cost, draft, rate));
  return same ? 0 : 1;
}

}  // namespace

int cmd_bench(const Args& args) {
  try {
    CommandLine cl(args, {"--model", "--n-prompt", "--n-gen", "--threads", "--type", "--type-output", "--repetitions", "--draft",
                    "--draft-vocab", "--depth", "--cache-type"},
                   {"--json", "--help", "--mtp"},
                   {{"-p", "--n-prompt"}, {"-n", "--n-gen"}, {"-d", "--depth"}, {"-t", "--threads"}, {"-r", "--repetitions"},
                    {"-h", "--help"}});
    if (cl.has("--help")) {
      std::fputs(kBenchHelp, stdout);
      return 0;
    }
    if (!cl.positional().empty()) throw CommandLineError("unexpected argument '" + cl.positional()[0] + "'");
    const int prompt_tokens = static_cast<int>(cl.get_int("--n-prompt", 512, 0, 1 << 20));
    const int gen_tokens = static_cast<int>(cl.get_int("--n-gen", 128, 0, 1 << 20));
    const int reps = static_cast<int>(cl.get_int("--repetitions", 5, 1, 1000));
    const int depth = static_cast<int>(cl.get_int("--depth", 0, 0, 1 << 24));
    const CacheType cache_type = parse_cache_type_option(cl.get_or("--cache-type", "f32"));
    const bool json = cl.has("--json");
    const TypeChoice type = parse_weight_type("--type", cl.get_or("--type", "native"));
    const TypeChoice output_type =
        cl.has("--type-output") ? parse_weight_type("--type-output", *cl.get("--type-output")) : type;

    LoadOptions options;
    options.threads = static_cast<int>(cl.get_int("--threads", 0, 0, 1024));
    options.weight_type = type.type;
    options.output_weight_type = output_type.type;
    const auto load_start = std::chrono::steady_clock::now();
    const std::string model_dir = model_option(cl.get("--model"), UserConfig{}).string();  // a NAME of dschat list too
    auto model = while_allocating("the model " + model_dir, [&] { return Model::load(model_dir, options); });
    const double load_s = seconds_since(load_start);
    const ModelConfig& config = model->config();
    if (cl.has("--mtp") && (depth > 0 || cache_type != CacheType::F32)) {
      throw CommandLineError("--mtp runs from an empty F32 cache: --depth and --cache-type do not combine with it");
    }
    if (cl.has("--mtp")) {
      const std::string type_name = type.name == output_type.name ? type.name : type.name + "/" + output_type.name;
      const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
      return bench_mtp(*model, std::max(gen_tokens, 2), reps, static_cast<int>(cl.get_int("--draft", 3, 1, 3)),
                       static_cast<int>(cl.get_int("--draft-vocab", 8192, 0, 100'000'000)), threads, json, type_name);
    }

    const int64_t wanted = int64_t(depth) + std::max(std::max(prompt_tokens, gen_tokens), 1);
    if (wanted > config.max_position_embeddings) {
      throw CommandLineError("-d/-p/-n: " + std::to_string(wanted) + " tokens exceed the model's context of " +
                             std::to_string(config.max_position_embeddings));
    }
    const int context = static_cast<int>(wanted);
    // The depth is filled in batches as a prompt is (with -p 0 a batch of 1 fed the depth one
    // token at a time).
    const int chunk = std::clamp(std::max(prompt_tokens, depth), 1, kPrefillBatch);
    const int threads_used = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());
    const uint64_t needed = bench_memory_estimate(config, cache_type, context, chunk, std::max(threads_used, 1));
    if (const uint64_t ram = physical_memory_bytes(); ram > 0 && needed > ram) {
      throw CommandLineError("-p/-n: " + std::to_string(context) + " tokens need about " + gib(needed) +
                             " (the latent cache and the attention scores of a " + std::to_string(chunk) +
                             "-token batch), more than this machine's " + gib(ram) + " of memory");
    }
    ContextOptions context_options;
    context_options.cache_type = cache_type;
    auto ctx = InferenceContext::create(*model, context, context_options);
    ctx->set_prefill_chunk(chunk);
    const uint64_t cache_bytes_per_token = latent_cache_bytes_per_token(config, cache_type);

    std::mt19937 rng(1234);
    std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(config.vocab_size - 1));
    std::vector<int32_t> prompt(prompt_tokens), generated(gen_tokens);
    for (auto& id : prompt) id = pick(rng);
    for (auto& id : generated) id = pick(rng);
    std::vector<float> logits(config.vocab_size);
    if (depth > 0) {  // the depth, once: every run truncates back to it
      std::vector<int32_t> context_ids(depth);
      for (auto& id : context_ids) id = pick(rng);
      ctx->append(context_ids, {});
    }

    // Warm-up: one short run of each kind (pages in every weight and sizes the scratch buffers).
    if (prompt_tokens > 0) time_prefill(*ctx, depth, prompt, logits);
    if (gen_tokens > 0) {
      time_decode(*ctx, depth, std::vector<int32_t>(generated.begin(), generated.begin() + std::min(gen_tokens, 4)), logits);
    }

    std::vector<double> prefill_tps, decode_tps;
    for (int r = 0; r < reps; ++r) {
      if (prompt_tokens > 0) prefill_tps.push_back(time_prefill(*ctx, depth, prompt, logits));
      if (gen_tokens > 0) decode_tps.push_back(time_decode(*ctx, depth, generated, logits));
    }
    const Stats prefill = stats_of(prefill_tps), decode = stats_of(decode_tps);
    const uint64_t rss = peak_rss_bytes();
    const std::string type_name = type.name == output_type.name ? type.name : type.name + "/" + output_type.name;
    const int threads = options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency());

    // What a decoded token reads from memory: the weights it uses, and the cache rows it attends
    // (depth + (n+1)/2 of them on average over the n timed tokens).
    const uint64_t decode_weight_bytes = model->decode_weight_bytes();
    const uint64_t decode_cache_bytes =
        gen_tokens > 0 ? cache_bytes_per_token * (static_cast<uint64_t>(depth) + (static_cast<uint64_t>(gen_tokens) + 1) / 2)
                       : 0;
    const double decode_gb_per_s = static_cast<double>(decode_weight_bytes + decode_cache_bytes) * decode.mean / 1e9;
    if (json) {
      std::printf(
          "{\"type\": \"%s\", \"threads\": %d, \"prefill_tokens\": %d, \"decode_tokens\": %d, \"prefill_tps\": %.3f, "
          "\"prefill_tps_sd\": %.3f, \"decode_tps\": %.3f, \"decode_tps_sd\": %.3f, \"load_s\": %.4f, "
          "\"peak_rss_bytes\": %llu, \"depth\": %d, \"cache_type\": \"%s\", \"cache_bytes_per_token\": %llu, "
          "\"decode_weight_bytes_per_token\": %llu, \"decode_cache_bytes_per_token\": %llu, \"decode_gb_per_s\": %.3f}\n",
          type_name.c_str(), threads, prompt_tokens, gen_tokens, prefill.mean, prefill.sd, decode.mean, decode.sd,
          load_s, static_cast<unsigned long long>(rss), depth, cache_type_name(cache_type),
          static_cast<unsigned long long>(cache_bytes_per_token), static_cast<unsigned long long>(decode_weight_bytes),
          static_cast<unsigned long long>(decode_cache_bytes), decode_gb_per_s);
    } else {
      std::printf("model: %s (%.1f M parameters, %.1f MiB of weights as %s)\n", model->name().c_str(),
                  static_cast<double>(model->parameter_count()) / 1e6,
                  static_cast<double>(model->weight_bytes()) / (1024.0 * 1024.0), type_name.c_str());
      std::printf("threads: %s, repetitions: %d, load: %.3f s, peak RSS: %.1f MiB\n",
                  std::to_string(threads).c_str(), reps, load_s,
                  static_cast<double>(rss) / (1024.0 * 1024.0));
      std::printf("cache: %s, %llu bytes per token (%d layers)\n", cache_type_name(cache_type),
                  static_cast<unsigned long long>(cache_bytes_per_token), config.num_hidden_layers);
      if (gen_tokens > 0) {
        std::printf("decode reads %.1f MB of weights and %.1f MB of cache per token: %.1f GB/s\n",
                    static_cast<double>(decode_weight_bytes) / 1e6, static_cast<double>(decode_cache_bytes) / 1e6,
                    decode_gb_per_s);
      }
      // llama-bench names a test at depth "pp512 @ d4096".
      const std::string at = depth > 0 ? " @ d" + std::to_string(depth) : "";
      std::printf("| %-8s | %7s | %-14s | %20s |\n", "type", "threads", "test", "t/s");
      std::printf("|----------|---------|----------------|----------------------|\n");
      if (prompt_tokens > 0) {
        std::printf("| %-8s | %7s | %-14s | %10.2f ± %7.2f |\n", type_name.c_str(),
                    std::to_string(threads).c_str(), ("pp" + std::to_string(prompt_tokens) + at).c_str(),
                    prefill.mean, prefill.sd);
      }
      if (gen_tokens > 0) {
        std::printf("| %-8s | %7s | %-14s | %10.2f ± %7.2f |\n", type_name.c_str(),
                    std::to_string(threads).c_str(), ("tg" + std::to_string(gen_tokens) + at).c_str(),
                    decode.mean, decode.sd);
      }
    }
    return 0;
  } catch (const std::exception& e) {
    return report_error("bench", error_message(e));
  }
}

}  // namespace dschat
