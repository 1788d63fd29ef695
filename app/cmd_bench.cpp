#include "app/commands.h"

namespace dschat {

int cmd_bench(const Args&) { return report_error("bench", "not implemented yet"); }

}  // namespace dschat
