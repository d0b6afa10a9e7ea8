/**
 * Where the rows beyond the seeds, and the retirements of seed rows, are documented: Microsoft's current Arc pages in
 * the MicrosoftDocs/azure-management-docs repository, each with the page's ms.date and the commit it was read at.
 */

/** One Microsoft page as read: repository, path, the page's own `ms.date`, and the commit. */
export interface PageRef {
  repo: 'MicrosoftDocs/azure-management-docs';
  path: string;
  /** The page's `ms.date` (ISO). */
  msDate: string;
  /** The commit the page was read at (the newest that touched it when the catalog was edited). */
  commit: string;
}

const REPO = 'MicrosoftDocs/azure-management-docs' as const;
const page = (path: string, msDate: string, commit: string): PageRef => ({ repo: REPO, path, msDate, commit });

/** The pages the catalog's current rows come from. */
export const PAGES = {
  servers: page(
    'articles/azure-arc/servers/includes/network-requirements.md',
    '2026-04-01',
    'a0e94e03f8e92029d9a8749930ee3ea11692adc9',
  ),
  bridge: page(
    'articles/azure-arc/resource-bridge/includes/network-requirements.md',
    '2024-05-22',
    'ab805736e3033fa1d7d9caebb2a11bec78eae03d',
  ),
  bridgeTroubleshooting: page(
    'articles/azure-arc/resource-bridge/troubleshoot-resource-bridge.md',
    '2024-10-03',
    '6630eb1b104a1358ee159fc7aa7fc21daf322d95',
  ),
  gateway: page('articles/azure-arc/servers/arc-gateway.md', '2026-04-01', '65bb0d82c8d6fa29b29a6909bf7cddcb8b828845'),
  gatewayEndpoints: page(
    'articles/azure-arc/servers/arc-gateway-endpoints.md',
    '2026-02-17',
    '635e95593489c370de61d164dd7b6c42b9233504',
  ),
  proxy: page(
    'articles/azure-arc/servers/manage-agent-proxy-settings.md',
    '2026-04-27',
    '7c1c176d5083e39b0426ff02273503e386115b71',
  ),
} as const satisfies Record<string, PageRef>;

/** A commit of the servers or bridge page that dropped seed rows. */
export interface RemovalCommit {
  path: string;
  commit: string;
  /** Commit date (ISO day). */
  date: string;
  subject: string;
}

const removal = (path: string, commit: string, date: string, subject: string): RemovalCommit => ({
  path,
  commit,
  date,
  subject,
});

/** The commits that removed seed rows from the current pages (found with `git log -S<host>` on each page). */
export const REMOVALS = {
  loginWindowsNet: removal(
    PAGES.servers.path,
    '138b09e06a45e69b0bb0c66a9e47d2d48e9f5d20',
    '2024-10-31',
    'removed outdated endpoint',
  ),
  akaMs: removal(PAGES.servers.path, '5c2ac4f31be185eea20f9c5b155405e96d7672d8', '2025-01-13', 'Edited endpoints'),
  serversBlob: removal(
    PAGES.servers.path,
    '5777653b2bf1cce9bf7bf0a32799d89834a6fb6a',
    '2026-02-13',
    'remove one endpoint',
  ),
  bridgeDevRegistry: removal(
    PAGES.bridge.path,
    'b4bc573c0078e08476ecad69b736a4b4f7defef5',
    '2024-04-18',
    'Update network-requirements.md',
  ),
  bridgeObsolete: removal(
    PAGES.bridge.path,
    '21099fe61265c7c425604b1f514a32ef5a94ac48',
    '2026-07-20',
    'Update network requirements by removing obsolete entries',
  ),
} as const satisfies Record<string, RemovalCommit>;

/** `MicrosoftDocs/azure-management-docs articles/…/x.md (ms.date 2026-04-01, commit a0e94e0)` */
export function describePage(ref: PageRef): string {
  return `${ref.repo} ${ref.path} (ms.date ${ref.msDate}, commit ${ref.commit.slice(0, 7)})`;
}
