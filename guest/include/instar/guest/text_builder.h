// TextBuilder in the guest: the engine's bounded text writer
// (instar/engine/text_builder.h), under the name the operations use.
//
// Operations compose the one line the user sees ("Could not open 'x': ...")
// with it; there is one implementation, shared with the engine's messages.
#ifndef INSTAR_GUEST_TEXT_BUILDER_H_
#define INSTAR_GUEST_TEXT_BUILDER_H_

#include "instar/engine/text_builder.h"

namespace instar::guest {

using instar::BoundedLength;
using instar::TextBuilder;

}  // namespace instar::guest

#endif  // INSTAR_GUEST_TEXT_BUILDER_H_
