// FFmpeg's libraries for the MediaFFmpeg plugin (Debian's libav*-dev, found with pkg-config), plus the error
// codes that are macros Swift cannot import.
#include <errno.h>
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

static inline int omni_averror_eof(void) { return AVERROR_EOF; }
static inline int omni_averror_eagain(void) { return AVERROR(EAGAIN); }
