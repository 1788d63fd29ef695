#include "app/commands.h"

namespace dschat {

int cmd_run(const Args&) { return report_error("run", "not implemented yet"); }

}  // namespace dschat
