#include "engine/io/pickle.h"

#include <array>
#include <bit>
#include <cstdio>
#include <cstring>
#include <unordered_map>

#include "engine/io/model_error.h"

namespace dschat {

const char* pickle_kind_name(PickleKind kind) {
  switch (kind) {
    case PickleKind::None: return "None";
    case PickleKind::Bool: return "bool";
    case PickleKind::Int: return "int";
    case PickleKind::Float: return "float";
    case PickleKind::String: return "str";
    case PickleKind::Bytes: return "bytes";
    case PickleKind::Tuple: return "tuple";
    case PickleKind::List: return "list";
    case PickleKind::Dict: return "dict";
    case PickleKind::Global: return "global";
    case PickleKind::Object: return "object";
    case PickleKind::Storage: return "storage";
    case PickleKind::Tensor: return "tensor";
  }
  return "?";
}

namespace {

// Modules whose globals can run code or touch the system: refused as soon as they are named.
constexpr std::array<std::string_view, 40> kRefusedModules = {
    "os", "posix", "nt", "subprocess", "sys", "shutil", "socket", "importlib", "runpy", "pty",
    "ctypes", "pickle", "_pickle", "marshal", "code", "codeop", "webbrowser", "multiprocessing",
    "signal", "builtins", "__builtin__", "io", "_io", "types", "functools", "operator", "pdb",
    "timeit", "platform", "asyncio", "threading", "_thread", "tempfile", "glob", "pathlib",
    "urllib", "http", "commands", "popen2", "_posixsubprocess"};

// Names inside refused modules that are plain data types, reproduced here without calling them.
constexpr std::array<std::string_view, 3> kAllowedBuiltins = {"builtins.set", "builtins.frozenset",
                                                              "builtins.bytearray"};

bool module_refused(std::string_view module) {
  for (std::string_view m : kRefusedModules) {
    if (module == m || (module.size() > m.size() && module.substr(0, m.size()) == m && module[m.size()] == '.')) {
      return true;
    }
  }
  return false;
}

std::optional<DType> storage_dtype(std::string_view type_name) {
  static const std::unordered_map<std::string_view, DType> kTypes = {
      {"torch.FloatStorage", DType::F32},    {"torch.DoubleStorage", DType::F64},
      {"torch.HalfStorage", DType::F16},     {"torch.BFloat16Storage", DType::BF16},
      {"torch.LongStorage", DType::I64},     {"torch.IntStorage", DType::I32},
      {"torch.ShortStorage", DType::I16},    {"torch.CharStorage", DType::I8},
      {"torch.ByteStorage", DType::U8},      {"torch.BoolStorage", DType::Bool},
      {"torch.UntypedStorage", DType::U8}};
  auto it = kTypes.find(type_name);
  if (it == kTypes.end()) return std::nullopt;
  return it->second;
}

}  // namespace

class Unpickler {
 public:
  Unpickler(std::span<const std::byte> data, const std::string& label, const UnpickleLimits& limits)
      : data_(data), label_(label), limits_(limits) {}

  Unpickled run();

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ModelError(label_ + ": pickle byte " + std::to_string(op_at_) + ": " + what);
  }

  // --- input -----------------------------------------------------------------------------
  const std::byte* take(uint64_t n) {
    if (n > data_.size() - pos_) fail("truncated (needs " + std::to_string(n) + " more bytes)");
    const std::byte* p = data_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int n) {
    const std::byte* p = take(n);
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | std::to_integer<uint64_t>(p[i]);
    return v;
  }
  std::string bytes(uint64_t n) {
    const std::byte* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {  // text GLOBAL operands: up to '\n', bounded
    std::string s;
    for (;;) {
      char c = static_cast<char>(std::to_integer<uint8_t>(*take(1)));
      if (c == '\n') return s;
      if (s.size() >= 512) fail("GLOBAL name longer than 512 bytes");
      s.push_back(c);
    }
  }

  // --- values ----------------------------------------------------------------------------
  PickleId add(PickleValue v) {
    if (out_.values_.size() >= limits_.max_values) fail("more than " + std::to_string(limits_.max_values) + " values");
    out_.values_.push_back(std::move(v));
    return static_cast<PickleId>(out_.values_.size() - 1);
  }
  PickleId add_kind(PickleKind kind) {
    PickleValue v;
    v.kind = kind;
    return add(std::move(v));
  }
  PickleId add_int(int64_t i) {
    PickleValue v;
    v.kind = PickleKind::Int;
    v.integer = i;
    return add(std::move(v));
  }
  PickleId add_text(PickleKind kind, std::string s) {
    PickleValue v;
    v.kind = kind;
    v.text = std::move(s);
    return add(std::move(v));
  }
  PickleId add_sequence(PickleKind kind, std::vector<PickleId> items) {
    PickleValue v;
    v.kind = kind;
    v.items = std::move(items);
    return add(std::move(v));
  }
  PickleValue& val(PickleId id) { return out_.values_[id]; }

  // --- stack -----------------------------------------------------------------------------
  void push(PickleId id) {
    if (stack_.size() >= limits_.max_stack) fail("stack deeper than " + std::to_string(limits_.max_stack));
    stack_.push_back(id);
  }
  PickleId pop() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    PickleId id = stack_.back();
    stack_.pop_back();
    return id;
  }
  PickleId& top() {
    if (stack_.size() <= stack_floor()) fail("stack underflow");
    return stack_.back();
  }
  size_t stack_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<PickleId> pop_to_mark() {
    if (marks_.empty()) fail("no MARK for this opcode");
    size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleId> items(stack_.begin() + mark, stack_.end());
    stack_.resize(mark);
    return items;
  }
  void memo_put(uint64_t index) {
    if (index >= limits_.max_memo) fail("memo index " + std::to_string(index) + " over the limit");
    memo_[index] = top();
  }
  PickleId memo_get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) fail("memo index " + std::to_string(index) + " was never stored");
    return it->second;
  }

  // --- semantics ---------------------------------------------------------------------------
  PickleId global(const std::string& module, const std::string& name);
  PickleId reduce(PickleId callable, PickleId args);
  PickleId new_object(PickleId cls, PickleId args);
  PickleId persistent_load(PickleId pid);
  void build(PickleId target, PickleId state);
  void append(PickleId list, std::span<const PickleId> items);
  void set_items(PickleId dict, std::span<const PickleId> items);

  const std::vector<PickleId>& tuple_items(PickleId id, const char* what) {
    if (val(id).kind != PickleKind::Tuple) fail(std::string(what) + " must be a tuple, got " + out_.describe(id));
    return val(id).items;
  }
  int64_t int_of(PickleId id, const char* what) {
    if (val(id).kind != PickleKind::Int) fail(std::string(what) + " must be an int, got " + out_.describe(id));
    return val(id).integer;
  }
  std::vector<int64_t> int_tuple(PickleId id, const char* what) {
    std::vector<int64_t> v;
    for (PickleId item : tuple_items(id, what)) v.push_back(int_of(item, what));
    return v;
  }

  std::span<const std::byte> data_;
  const std::string& label_;
  UnpickleLimits limits_;
  uint64_t pos_ = 0;
  uint64_t op_at_ = 0;
  Unpickled out_;
  std::vector<PickleId> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, PickleId> memo_;
  std::unordered_map<std::string, PickleId> storage_by_key_;
  std::unordered_map<PickleId, std::unordered_map<std::string, size_t>> dict_index_;
};

PickleId Unpickler::global(const std::string& module, const std::string& name) {
  std::string full = module + "." + name;
  bool allowed_builtin = false;
  for (std::string_view a : kAllowedBuiltins) allowed_builtin |= (full == a);
  if (module_refused(module) && !allowed_builtin) {
    fail("refuses global " + full + ": it can run code, and this unpickler only reads tensors and plain data");
  }
  return add_text(PickleKind::Global, full);
}

PickleId Unpickler::reduce(PickleId callable, PickleId args_id) {
  if (val(callable).kind != PickleKind::Global) fail("REDUCE of a non-callable " + out_.describe(callable));
  const std::string name = val(callable).text;
  const std::vector<PickleId> args = tuple_items(args_id, "REDUCE arguments");

  if (name == "collections.OrderedDict") {
    PickleId dict = add_sequence(PickleKind::Dict, {});
    if (args.size() == 1 && val(args[0]).kind == PickleKind::List) {
      for (PickleId pair : std::vector<PickleId>(val(args[0]).items)) {
        const auto kv = tuple_items(pair, "OrderedDict item");
        if (kv.size() != 2) fail("OrderedDict item must be a (key, value) pair");
        set_items(dict, kv);
      }
    } else if (!args.empty()) {
      fail("unsupported OrderedDict arguments " + out_.describe(args_id));
    }
    return dict;
  }
  if (name == "torch._utils._rebuild_tensor_v2") {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.size() < 6 || args.size() > 7) fail("_rebuild_tensor_v2 takes 6 or 7 arguments, got " + std::to_string(args.size()));
    if (val(args[0]).kind != PickleKind::Storage) fail("_rebuild_tensor_v2: first argument is not a storage");
    PickleTensor t;
    t.storage = args[0];
    t.storage_offset = int_of(args[1], "tensor storage offset");
    t.shape = int_tuple(args[2], "tensor size");
    t.stride = int_tuple(args[3], "tensor stride");
    if (t.shape.size() != t.stride.size()) fail("tensor size and stride have different lengths");
    PickleValue v;
    v.kind = PickleKind::Tensor;
    v.index = static_cast<uint32_t>(out_.tensors_.size());
    out_.tensors_.push_back(std::move(t));
    return add(std::move(v));
  }
  if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
    if (args.empty() || val(args[0]).kind != PickleKind::Tensor) fail(name + ": first argument is not a tensor");
    return args[0];  // a Parameter is its data for reading
  }
  if (name == "_codecs.encode") {  // how protocol 2 writes bytes: encode(latin-1 text, 'latin1')
    if (args.size() != 2 || val(args[0]).kind != PickleKind::String || val(args[1]).kind != PickleKind::String ||
        (val(args[1]).text != "latin1" && val(args[1]).text != "latin-1")) {
      fail("_codecs.encode is read only as encode(str, 'latin1')");
    }
    std::string out;
    const std::string& s = val(args[0]).text;
    for (size_t i = 0; i < s.size(); ++i) {  // UTF-8 code points below 256 -> one byte each
      auto c = static_cast<uint8_t>(s[i]);
      if (c < 0x80) {
        out.push_back(static_cast<char>(c));
      } else if ((c & 0xe0) == 0xc0 && c <= 0xc3 && i + 1 < s.size()) {
        out.push_back(static_cast<char>(((c & 0x03) << 6) | (static_cast<uint8_t>(s[++i]) & 0x3f)));
      } else {
        fail("_codecs.encode: text is not latin-1");
      }
    }
    return add_text(PickleKind::Bytes, std::move(out));
  }
  if (name == "builtins.set" || name == "builtins.frozenset") {
    if (args.empty()) return add_sequence(PickleKind::List, {});
    if (args.size() == 1 && val(args[0]).kind == PickleKind::List) return add_sequence(PickleKind::List, val(args[0]).items);
    fail(name + " with unsupported arguments");
  }
  if (name == "copyreg._reconstructor") {  // (cls, base, state): cls instance without __init__
    if (args.size() != 3 || val(args[0]).kind != PickleKind::Global) fail("copyreg._reconstructor with unsupported arguments");
    PickleValue v;
    v.kind = PickleKind::Object;
    v.text = val(args[0]).text;
    return add(std::move(v));
  }
  if (name == "torch.device" || name == "torch.Size") {  // plain data: keep the arguments
    PickleValue v;
    v.kind = PickleKind::Object;
    v.text = name;
    v.items = args;
    return add(std::move(v));
  }
  fail("refuses to call " + name + ": only state dicts and plain checkpoint data are read");
}

PickleId Unpickler::new_object(PickleId cls, PickleId args_id) {
  if (val(cls).kind != PickleKind::Global) fail("NEWOBJ of a non-class " + out_.describe(cls));
  const std::string& name = val(cls).text;
  const std::vector<PickleId> args = tuple_items(args_id, "NEWOBJ arguments");
  if (name == "collections.OrderedDict") return add_sequence(PickleKind::Dict, {});
  if (name == "builtins.set" || name == "builtins.frozenset") return add_sequence(PickleKind::List, {});
  PickleValue v;  // cls.__new__(cls, *args) without running anything: an inert record
  v.kind = PickleKind::Object;
  v.text = name;
  v.items = args;
  return add(std::move(v));
}

PickleId Unpickler::persistent_load(PickleId pid) {
  const auto& t = tuple_items(pid, "persistent id");
  if (t.size() != 5 || val(t[0]).kind != PickleKind::String || val(t[0]).text != "storage") {
    fail("unsupported persistent id " + out_.describe(pid) + " (expected ('storage', type, key, location, numel))");
  }
  if (val(t[1]).kind != PickleKind::Global) fail("storage type is not a global: " + out_.describe(t[1]));
  const std::string type_name = val(t[1]).text;
  auto dtype = storage_dtype(type_name);
  if (!dtype) fail("unsupported storage type " + type_name);
  if (val(t[2]).kind != PickleKind::String) fail("storage key is not a string");
  const std::string key = val(t[2]).text;
  int64_t numel = int_of(t[4], "storage size");
  if (numel < 0) fail("negative storage size");
  // t[3] is the device the checkpoint was saved from (cpu, cuda:0, mps): ignored.
  auto it = storage_by_key_.find(key);
  if (it != storage_by_key_.end()) {  // the same storage again (tied weights)
    const PickleStorage& s = out_.storages_[val(it->second).index];
    if (s.dtype != *dtype || s.numel != static_cast<uint64_t>(numel)) {
      fail("storage '" + key + "' appears with two different types or sizes");
    }
    return it->second;
  }
  PickleStorage s{key, type_name, *dtype, static_cast<uint64_t>(numel)};
  PickleValue v;
  v.kind = PickleKind::Storage;
  v.index = static_cast<uint32_t>(out_.storages_.size());
  out_.storages_.push_back(std::move(s));
  PickleId id = add(std::move(v));
  storage_by_key_.emplace(key, id);
  return id;
}

void Unpickler::build(PickleId target, PickleId state) {
  PickleValue& t = val(target);
  if (t.kind != PickleKind::Object && t.kind != PickleKind::Dict && t.kind != PickleKind::List) {
    fail(std::string("BUILD on a ") + pickle_kind_name(t.kind));
  }
  t.state = state;  // recorded, never applied through __setstate__
}

void Unpickler::append(PickleId list, std::span<const PickleId> items) {
  PickleValue& l = val(list);
  if (l.kind != PickleKind::List) fail(std::string("APPEND to a ") + pickle_kind_name(l.kind));
  l.items.insert(l.items.end(), items.begin(), items.end());
}

void Unpickler::set_items(PickleId dict, std::span<const PickleId> items) {
  if (items.size() % 2 != 0) fail("SETITEMS with an odd number of items");
  PickleValue& d = val(dict);
  if (d.kind != PickleKind::Dict) fail(std::string("SETITEM on a ") + pickle_kind_name(d.kind));
  auto& index = dict_index_[dict];  // str/int key -> position, so a repeated key replaces its value
  for (size_t i = 0; i < items.size(); i += 2) {
    const PickleValue& key = val(items[i]);
    std::string k;  // kind tag + key text
    if (key.kind == PickleKind::String) k.append(1, 's').append(key.text);
    if (key.kind == PickleKind::Int) k.append(1, 'i').append(std::to_string(key.integer));
    if (!k.empty()) {
      auto [it, fresh] = index.emplace(std::move(k), d.items.size());
      if (!fresh) {
        d.items[it->second + 1] = items[i + 1];
        continue;
      }
    }
    d.items.push_back(items[i]);
    d.items.push_back(items[i + 1]);
  }
}

Unpickled Unpickler::run() {
  for (;;) {
    op_at_ = pos_;
    if (pos_ >= data_.size()) fail("truncated: no STOP opcode");
    const uint8_t op = std::to_integer<uint8_t>(*take(1));
    switch (op) {
      case 0x80: {  // PROTO
        uint64_t proto = le(1);
        if (proto > 5) fail("unsupported pickle protocol " + std::to_string(proto));
        break;
      }
      case 0x95: take(8); break;  // FRAME: a length hint only
      case '.': {                 // STOP
        if (stack_.size() != 1 || !marks_.empty()) fail("STOP with " + std::to_string(stack_.size()) + " values on the stack");
        out_.root_ = stack_.back();
        return std::move(out_);
      }
      case '(':  // MARK
        if (marks_.size() >= limits_.max_marks) fail("MARKs nested deeper than " + std::to_string(limits_.max_marks));
        marks_.push_back(stack_.size());
        break;
      case '0': pop(); break;                       // POP
      case '1': pop_to_mark(); break;               // POP_MARK
      case '2': push(top()); break;                 // DUP
      case 'N': push(add_kind(PickleKind::None)); break;
      case 0x88:
      case 0x89: {  // NEWTRUE, NEWFALSE
        PickleValue v;
        v.kind = PickleKind::Bool;
        v.boolean = op == 0x88;
        push(add(std::move(v)));
        break;
      }
      case 'J': push(add_int(static_cast<int32_t>(le(4)))); break;  // BININT
      case 'K': push(add_int(static_cast<int64_t>(le(1)))); break;  // BININT1
      case 'M': push(add_int(static_cast<int64_t>(le(2)))); break;  // BININT2
      case 0x8a:
      case 0x8b: {  // LONG1, LONG4: little-endian two's complement
        uint64_t n = op == 0x8a ? le(1) : le(4);
        if (n > 8) fail("integer of " + std::to_string(n) + " bytes is too large");
        uint64_t v = n ? le(static_cast<int>(n)) : 0;
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1u) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        push(add_int(static_cast<int64_t>(v)));
        break;
      }
      case 'G': {  // BINFLOAT: big-endian double
        const std::byte* p = take(8);
        uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | std::to_integer<uint64_t>(p[i]);
        PickleValue v;
        v.kind = PickleKind::Float;
        v.real = std::bit_cast<double>(bits);
        push(add(std::move(v)));
        break;
      }
      case 'X': push(add_text(PickleKind::String, bytes(le(4)))); break;     // BINUNICODE
      case 0x8c: push(add_text(PickleKind::String, bytes(le(1)))); break;    // SHORT_BINUNICODE
      case 0x8d: push(add_text(PickleKind::String, bytes(le(8)))); break;    // BINUNICODE8
      case 'U': push(add_text(PickleKind::String, bytes(le(1)))); break;     // SHORT_BINSTRING
      case 'T': {                                                             // BINSTRING
        auto n = static_cast<int32_t>(le(4));
        if (n < 0) fail("negative string length");
        push(add_text(PickleKind::String, bytes(static_cast<uint64_t>(n))));
        break;
      }
      case 'C': push(add_text(PickleKind::Bytes, bytes(le(1)))); break;      // SHORT_BINBYTES
      case 'B': push(add_text(PickleKind::Bytes, bytes(le(4)))); break;      // BINBYTES
      case 0x8e: push(add_text(PickleKind::Bytes, bytes(le(8)))); break;     // BINBYTES8
      case ')': push(add_sequence(PickleKind::Tuple, {})); break;            // EMPTY_TUPLE
      case 't': push(add_sequence(PickleKind::Tuple, pop_to_mark())); break; // TUPLE
      case 0x85:
      case 0x86:
      case 0x87: {  // TUPLE1..3
        std::vector<PickleId> items(op - 0x84);
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        push(add_sequence(PickleKind::Tuple, std::move(items)));
        break;
      }
      case ']': push(add_sequence(PickleKind::List, {})); break;             // EMPTY_LIST
      case 'l': push(add_sequence(PickleKind::List, pop_to_mark())); break;  // LIST
      case 'a': {                                                            // APPEND
        PickleId item = pop();
        append(top(), std::span<const PickleId>(&item, 1));
        break;
      }
      case 'e': {  // APPENDS
        auto items = pop_to_mark();
        append(top(), items);
        break;
      }
      case 0x8f: push(add_sequence(PickleKind::List, {})); break;  // EMPTY_SET
      case 0x90: {                                                 // ADDITEMS
        auto items = pop_to_mark();
        append(top(), items);
        break;
      }
      case 0x91: push(add_sequence(PickleKind::List, pop_to_mark())); break;  // FROZENSET
      case '}': push(add_sequence(PickleKind::Dict, {})); break;              // EMPTY_DICT
      case 'd': {                                                             // DICT
        auto items = pop_to_mark();
        PickleId dict = add_sequence(PickleKind::Dict, {});
        set_items(dict, items);
        push(dict);
        break;
      }
      case 's': {  // SETITEM
        PickleId value = pop();
        PickleId key = pop();
        std::array<PickleId, 2> kv{key, value};
        set_items(top(), kv);
        break;
      }
      case 'u': {  // SETITEMS
        auto items = pop_to_mark();
        set_items(top(), items);
        break;
      }
      case 'c': {  // GLOBAL "module\nname\n"
        std::string module = line();
        std::string name = line();
        push(global(module, name));
        break;
      }
      case 0x93: {  // STACK_GLOBAL
        PickleId name = pop();
        PickleId module = pop();
        if (!out_.is_string(module) || !out_.is_string(name)) fail("STACK_GLOBAL needs two strings");
        push(global(val(module).text, val(name).text));
        break;
      }
      case 'R': {  // REDUCE
        PickleId args = pop();
        PickleId callable = pop();
        push(reduce(callable, args));
        break;
      }
      case 0x81: {  // NEWOBJ
        PickleId args = pop();
        PickleId cls = pop();
        push(new_object(cls, args));
        break;
      }
      case 0x92: {  // NEWOBJ_EX (kwargs ignored: the object stays inert)
        pop();
        PickleId args = pop();
        PickleId cls = pop();
        push(new_object(cls, args));
        break;
      }
      case 'b': {  // BUILD
        PickleId state = pop();
        build(top(), state);
        break;
      }
      case 'Q': push(persistent_load(pop())); break;  // BINPERSID
      case 'q': memo_put(le(1)); break;                // BINPUT
      case 'r': memo_put(le(4)); break;                // LONG_BINPUT
      case 0x94: memo_put(memo_.size()); break;        // MEMOIZE
      case 'h': push(memo_get(le(1))); break;          // BINGET
      case 'j': push(memo_get(le(4))); break;          // LONG_BINGET
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        fail(std::string("unsupported pickle opcode ") + hex);
      }
    }
  }
}

std::optional<PickleId> Unpickled::get(PickleId id, std::string_view key) const {
  const PickleValue* v = &at(id);
  if (v->kind == PickleKind::Object) {
    if (v->state == kNoPickleValue) return std::nullopt;
    v = &at(v->state);
  }
  if (v->kind != PickleKind::Dict) return std::nullopt;
  for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
    const PickleValue& k = at(v->items[i]);
    if (k.kind == PickleKind::String && k.text == key) return v->items[i + 1];
  }
  return std::nullopt;
}

std::string Unpickled::describe(PickleId id, int depth) const {
  if (id >= values_.size()) return "<invalid>";
  const PickleValue& v = at(id);
  auto list = [&](const char* open, const char* close, size_t step) {
    std::string s = open;
    if (depth <= 0) return s + "..." + close;
    for (size_t i = 0; i < v.items.size(); i += step) {
      if (i >= 8 * step) return s + ", ..." + close;
      if (i) s += ", ";
      s += describe(v.items[i], depth - 1);
      if (step == 2 && i + 1 < v.items.size()) s += ": " + describe(v.items[i + 1], depth - 1);
    }
    return s + close;
  };
  switch (v.kind) {
    case PickleKind::None: return "None";
    case PickleKind::Bool: return v.boolean ? "True" : "False";
    case PickleKind::Int: return std::to_string(v.integer);
    case PickleKind::Float: return std::to_string(v.real);
    case PickleKind::String: return "'" + v.text.substr(0, 64) + (v.text.size() > 64 ? "...'" : "'");
    case PickleKind::Bytes: return "bytes[" + std::to_string(v.text.size()) + "]";
    case PickleKind::Tuple: return list("(", ")", 1);
    case PickleKind::List: return list("[", "]", 1);
    case PickleKind::Dict: return list("{", "}", 2);
    case PickleKind::Global: return v.text;
    case PickleKind::Object: return v.text + "(...)";
    case PickleKind::Storage: return storages_[v.index].type_name + "('" + storages_[v.index].key + "')";
    case PickleKind::Tensor: return "tensor" + shape_string(tensors_[v.index].shape);
  }
  return "?";
}

Unpickled unpickle(std::span<const std::byte> data, const std::string& label, const UnpickleLimits& limits) {
  return Unpickler(data, label, limits).run();
}

}  // namespace dschat
