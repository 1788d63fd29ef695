#include "app/commands.h"

namespace dschat {

int cmd_logits(const Args&) { return report_error("logits", "not implemented yet"); }

}  // namespace dschat
