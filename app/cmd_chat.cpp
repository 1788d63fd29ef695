#include "app/commands.h"

namespace dschat {

int cmd_chat(const Args&) { return report_error("chat", "not implemented yet"); }

}  // namespace dschat
