#ifndef ACK_RECORD_H
#define ACK_RECORD_H
#endif
