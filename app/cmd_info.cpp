#include "app/commands.h"

namespace dschat {

int cmd_info(const Args&) { return report_error("info", "not implemented yet"); }

}  // namespace dschat
