#ifndef ACK_MIME_H
#define ACK_MIME_H
#endif
