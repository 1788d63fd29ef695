// The restricted unpickler: plain data read exactly (streams assembled here opcode by opcode,
// following CPython's pickletools documentation), torch's storage/tensor records, inert objects,
// refusal of everything that could run code, limits, and malformed input.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/model.h"
#include "engine/io/pickle.h"
#include "engine/io/pt_checkpoint.h"

namespace dschat {
namespace {

const std::filesystem::path kPtData = std::filesystem::path(DSCHAT_TEST_DATA_DIR) / "pt";

// A pickle stream under construction.
struct Stream {
  std::string s = std::string("\x80\x02", 2);
  Stream& op(char c) { s.push_back(c); return *this; }
  Stream& raw(const std::string& r) { s += r; return *this; }
  Stream& u32(uint32_t v) { for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i))); return *this; }
  Stream& str(const std::string& t) { op('X').u32(static_cast<uint32_t>(t.size())); s += t; return *this; }
  Stream& int1(uint8_t v) { op('K'); s.push_back(static_cast<char>(v)); return *this; }
  Stream& global(const std::string& module, const std::string& name) { op('c'); s += module + "\n" + name + "\n"; return *this; }
  Stream& put(uint8_t i) { op('q'); s.push_back(static_cast<char>(i)); return *this; }
  Stream& get(uint8_t i) { op('h'); s.push_back(static_cast<char>(i)); return *this; }
  std::vector<std::byte> bytes() const {
    std::vector<std::byte> b(s.size());
    if (!s.empty()) std::memcpy(b.data(), s.data(), s.size());
    return b;
  }
  Unpickled parse() const {
    auto b = bytes();
    return unpickle(b, "test.pkl");
  }
};

std::string error_of(const Stream& stream) {
  try {
    stream.parse();
  } catch (const ModelError& e) {
    return e.what();
  }
  return "";
}

TEST(Unpickle, PlainValues) {
  // {'a': -2, 'b': 1.5, 'c': (None, True, False), 'd': [300, 70000, -1, 2**40], 'e': b'\x00\xff'}
  Stream s;
  s.op('}').op('(');
  s.str("a").op('J').u32(static_cast<uint32_t>(-2));
  s.str("b").op('G').raw(std::string("\x3f\xf8\x00\x00\x00\x00\x00\x00", 8));
  s.str("c").op('N').op('\x88').op('\x89').op('\x87');
  s.str("d").op(']').op('(').op('M').raw(std::string("\x2c\x01", 2)).op('J').u32(70000);
  s.op('\x8a').raw(std::string("\x01\xff", 2));                  // LONG1 -1
  s.op('\x8a').raw(std::string("\x06\x00\x00\x00\x00\x00\x01", 7));  // LONG1 2**40
  s.op('e');
  s.str("e").op('C').raw(std::string("\x02\x00\xff", 3));
  s.op('u').op('.');
  Unpickled u = s.parse();
  EXPECT_EQ(u.at(*u.get(u.root(), "a")).integer, -2);
  EXPECT_EQ(u.at(*u.get(u.root(), "b")).real, 1.5);
  const PickleValue& c = u.at(*u.get(u.root(), "c"));
  ASSERT_EQ(c.kind, PickleKind::Tuple);
  ASSERT_EQ(c.items.size(), 3u);
  EXPECT_EQ(u.at(c.items[0]).kind, PickleKind::None);
  EXPECT_TRUE(u.at(c.items[1]).boolean);
  EXPECT_FALSE(u.at(c.items[2]).boolean);
  const PickleValue& d = u.at(*u.get(u.root(), "d"));
  ASSERT_EQ(d.items.size(), 4u);
  EXPECT_EQ(u.at(d.items[0]).integer, 300);
  EXPECT_EQ(u.at(d.items[1]).integer, 70000);
  EXPECT_EQ(u.at(d.items[2]).integer, -1);
  EXPECT_EQ(u.at(d.items[3]).integer, int64_t{1} << 40);
  EXPECT_EQ(u.at(*u.get(u.root(), "e")).text, std::string("\x00\xff", 2));
}

TEST(Unpickle, MemoSharesOneValueAndLaterKeysReplace) {
  // x = []; {'p': x, 'q': x, 'p': 7} with x appended to after being stored twice.
  Stream s;
  s.op('}').op(']').put(0).op('0').str("p").get(0).op('s').str("q").get(0).op('s');
  s.get(0).int1(5).op('a').op('0');  // append 5 to x through the memo, then drop it
  s.str("p").int1(7).op('s').op('.');
  Unpickled u = s.parse();
  EXPECT_EQ(u.at(*u.get(u.root(), "p")).integer, 7);
  const PickleValue& q = u.at(*u.get(u.root(), "q"));
  ASSERT_EQ(q.items.size(), 1u);
  EXPECT_EQ(u.at(q.items[0]).integer, 5);
  EXPECT_EQ(u.at(u.root()).items.size(), 4u);  // two keys
}

TEST(Unpickle, ConfigObjectReadsAsData) {
  // model.DeepSeekV3Config via NEWOBJ + BUILD with its instance dict, as protocol 2 writes it.
  Stream s;
  s.global("model", "DeepSeekV3Config").op(')').op('\x81');
  s.op('}').op('(').str("hidden_size").int1(64).str("rms_norm_eps").op('G').raw(std::string("\x3e\xe4\xf8\xb5\x88\xe3\x68\xf1", 8));
  s.op('u').op('b').op('.');
  Unpickled u = s.parse();
  const PickleValue& obj = u.at(u.root());
  EXPECT_EQ(obj.kind, PickleKind::Object);
  EXPECT_EQ(obj.text, "model.DeepSeekV3Config");
  EXPECT_EQ(u.at(*u.get(u.root(), "hidden_size")).integer, 64);
  EXPECT_DOUBLE_EQ(u.at(*u.get(u.root(), "rms_norm_eps")).real, 1e-5);
  EXPECT_FALSE(u.get(u.root(), "qk_rope_head_dim").has_value());
}

TEST(Unpickle, StoragesAndTensors) {
  // OrderedDict{'w': _rebuild_tensor_v2(storage, 2, (2, 3), (3, 1), False, OrderedDict()),
  //             'v': same storage again (tied)}
  Stream s;
  s.global("collections", "OrderedDict").put(0).op(')').op('R').op('(');
  s.str("w").global("torch._utils", "_rebuild_tensor_v2").put(1).op('(');
  s.op('(').str("storage").global("torch", "BFloat16Storage").str("7").str("cuda:0").int1(8).op('t').op('Q').put(2);
  s.int1(2).int1(2).int1(3).op('\x86').int1(3).int1(1).op('\x86').op('\x89').get(0).op(')').op('R').op('t').op('R');
  s.str("v").get(1).op('(').get(2).int1(0).int1(8).op('\x85').int1(1).op('\x85').op('\x89').get(0).op(')').op('R').op('t').op('R');
  s.op('u').op('.');
  Unpickled u = s.parse();
  ASSERT_EQ(u.storages().size(), 1u);
  EXPECT_EQ(u.storages()[0].key, "7");
  EXPECT_EQ(u.storages()[0].dtype, DType::BF16);
  EXPECT_EQ(u.storages()[0].numel, 8u);
  ASSERT_EQ(u.tensors().size(), 2u);
  const PickleTensor& w = u.tensors()[u.at(*u.get(u.root(), "w")).index];
  EXPECT_EQ(w.storage_offset, 2);
  EXPECT_EQ(w.shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(w.stride, (std::vector<int64_t>{3, 1}));
  const PickleTensor& v = u.tensors()[u.at(*u.get(u.root(), "v")).index];
  EXPECT_EQ(v.storage, w.storage);
}

std::string must_refuse(const Stream& s, const std::string& fragment) {
  std::string error = error_of(s);
  EXPECT_NE(error, "") << "accepted: " << fragment;
  EXPECT_NE(error.find(fragment), std::string::npos) << error;
  return error;
}

TEST(Unpickle, RefusesGlobalsThatRunCode) {
  for (auto [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"os", "system"}, {"posix", "system"}, {"builtins", "eval"}, {"builtins", "exec"},
           {"builtins", "getattr"}, {"__builtin__", "eval"}, {"subprocess", "Popen"}, {"os.path", "join"},
           {"importlib", "import_module"}, {"sys", "modules"}}) {
    Stream s;
    s.global(module, name).op('(').str("id").op('t').op('R').op('.');
    must_refuse(s, module + "." + name);
    Stream named_only;  // even naming it without a call is refused
    named_only.global(module, name).op('.');
    must_refuse(named_only, "refuses global");
  }
}

TEST(Unpickle, RefusesCallsOutsideTheAllowList) {
  for (auto [module, name] : std::vector<std::pair<std::string, std::string>>{
           {"model", "make_config"}, {"torch", "load"}, {"numpy.core.multiarray", "_reconstruct"},
           {"torch._utils", "_rebuild_device_tensor_from_numpy"}, {"collections", "namedtuple"}}) {
    Stream s;
    s.global(module, name).op('(').str("x").op('t').op('R').op('.');
    std::string error = must_refuse(s, "refuses to call " + module + "." + name);
  }
}

TEST(Unpickle, HostileCheckpointFilesAreRejectedWithoutRunningThem) {
  std::filesystem::remove("/tmp/dschat_pwned");
  std::ifstream in(kPtData / "hostile" / "manifest.json");
  auto manifest = nlohmann::json::parse(in);
  ASSERT_GE(manifest.size(), 10u);
  for (const auto& [file, fragment] : manifest.items()) {
    try {
      PtCheckpoint ckpt(kPtData / "hostile" / file);
      ADD_FAILURE() << file << " was accepted";
    } catch (const ModelError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment.get<std::string>()), std::string::npos) << file << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(file), std::string::npos) << "error does not name the file: " << e.what();
    }
  }
  EXPECT_FALSE(std::filesystem::exists("/tmp/dschat_pwned"));
}

TEST(Unpickle, MalformedStreams) {
  Stream underflow;
  underflow.op('s').op('.');
  must_refuse(underflow, "underflow");
  Stream unknown_memo;
  unknown_memo.get(9).op('.');
  must_refuse(unknown_memo, "memo");
  Stream no_mark;
  no_mark.op('t').op('.');
  must_refuse(no_mark, "MARK");
  Stream two_left;
  two_left.op('N').op('N').op('.');
  must_refuse(two_left, "STOP");
  Stream setitem_on_list;
  setitem_on_list.op(']').int1(1).int1(2).op('s').op('.');
  must_refuse(setitem_on_list, "SETITEM");
  Stream bad_pid;
  bad_pid.str("storage").op('Q').op('.');
  must_refuse(bad_pid, "persistent id");
  Stream bad_storage_type;
  bad_storage_type.op('(').str("storage").global("torch", "QInt8Storage").str("0").str("cpu").int1(1).op('t').op('Q').op('.');
  must_refuse(bad_storage_type, "unsupported storage type");
  Stream huge_string;
  huge_string.op('X').u32(0xfffffff0u).op('.');
  must_refuse(huge_string, "truncated");
  Stream big_long;
  big_long.op('\x8a').raw(std::string("\x09") + std::string(9, '\x01')).op('.');
  must_refuse(big_long, "too large");
}

TEST(Unpickle, LimitsHold) {
  Stream marks;
  for (int i = 0; i < 20000; ++i) marks.op('(');
  must_refuse(marks, "MARKs nested deeper");
  Stream memo;
  memo.op('N').op('r').u32(0xffffffffu).op('.');
  must_refuse(memo, "memo index");
  Stream nesting;  // 100000 nested lists: fine for an arena, no recursion anywhere
  for (int i = 0; i < 100000; ++i) nesting.op(']');
  for (int i = 0; i < 99999; ++i) nesting.op('a');
  nesting.op('.');
  Unpickled u = nesting.parse();
  EXPECT_EQ(u.at(u.root()).items.size(), 1u);
  EXPECT_LT(u.describe(u.root()).size(), 100u);
  auto b = nesting.bytes();
  UnpickleLimits small;
  small.max_values = 1000;
  EXPECT_THROW(unpickle(b, "small", small), ModelError);
}

TEST(Unpickle, CyclesAreHarmless) {
  Stream s;  // x = []; x.append(x)
  s.op(']').put(0).get(0).op('a').op('.');
  Unpickled u = s.parse();
  EXPECT_EQ(u.at(u.root()).items[0], u.root());
  EXPECT_FALSE(u.describe(u.root(), 5).empty());
}

TEST(Unpickle, EveryTruncationOfARealPickleIsAnError) {
  std::ifstream in(kPtData / "views" / "model.pt", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // data.pkl is the first entry: it begins after its 30-byte header, name and extra field.
  size_t start = file.find(std::string("\x80\x02", 2));
  size_t stop = file.find(".PK", start);
  ASSERT_NE(start, std::string::npos);
  ASSERT_NE(stop, std::string::npos);
  Stream whole;
  whole.s = file.substr(start, stop + 1 - start);
  EXPECT_NO_THROW(whole.parse());
  for (size_t n = 0; n < whole.s.size(); ++n) {
    Stream prefix;
    prefix.s = whole.s.substr(0, n);
    EXPECT_NE(error_of(prefix), "") << "prefix of " << n << " bytes parsed";
  }
}

TEST(Unpickle, RandomMutationsNeverCrash) {
  std::ifstream in(kPtData / "mayank" / "model.pt", std::ios::binary);
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t start = file.find(std::string("\x80\x02", 2));
  size_t stop = file.find(".PK", start);
  const std::string pickle = file.substr(start, stop + 1 - start);
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  int parsed = 0;
  for (int round = 0; round < 400; ++round) {
    Stream s;
    s.s = pickle;
    for (int k = 0; k < 1 + static_cast<int>(next() % 3); ++k) s.s[next() % s.s.size()] = static_cast<char>(next());
    try {
      s.parse();
      ++parsed;
    } catch (const ModelError&) {
    }
  }
  EXPECT_LT(parsed, 400);
}

}  // namespace
}  // namespace dschat
