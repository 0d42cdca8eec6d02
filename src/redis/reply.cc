#include "redis/reply.h"

#include <hiredis/hiredis.h>

namespace github_proxy::redis {

reply copy_reply(const redisReply& r) {
  reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r.integer;
      return out;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) {
        out.elements.push_back(r.element[i] ? copy_reply(*r.element[i]) : reply{});
      }
      return out;
    default:  // REDIS_REPLY_NIL
      return out;
  }
  if (r.str) out.text.assign(r.str, r.len);
  return out;
}

}  // namespace github_proxy::redis
