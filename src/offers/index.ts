/** The offers stage: catalogs, the local machine's offer, configured backends, matching and ranking. */
export type { Offer } from "./offer";
export {
  Catalog,
  loadCatalogs,
  parseCatalogFiles,
  catalogFiles,
  catalogFromOffers,
  catalogDir,
  normalizeBackendName,
  clearCatalogCache,
  CATALOG_COLUMNS,
  type LoadCatalogOptions,
} from "./catalog";
export {
  findOffers,
  matchOffer,
  offerViolations,
  compareOffers,
  describeOffer,
  noOffersError,
  noOffersHint,
  type FindOffersOptions,
  type OfferQueryResult,
  type NoOffersExplanation,
  type NearestOffer,
} from "./find";
export { localOffer, parseNvidiaSmi, normalizeNvidiaName, type LocalOfferOptions } from "./local";
export { readBackendsConfig, configuredBackends, type BackendsConfig, type ConfiguredBackend } from "./backends-config";
export type { ConstraintName } from "./query";
export { requirementsOf, type OfferRequest, type Requirements } from "./requirements";
