/*-------------------------------------------------------------------------
 *
 * utility_hook.h
 *	  Stopping a database's probe worker before DROP or RENAME DATABASE.
 *
 *-------------------------------------------------------------------------
 */
#ifndef DEPWATCH_UTILITY_HOOK_H
#define DEPWATCH_UTILITY_HOOK_H

extern void dw_install_utility_hook(void);

#endif							/* DEPWATCH_UTILITY_HOOK_H */
