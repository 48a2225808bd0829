// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title What the job market asks about a job's design: who earns the per-job royalty, or whether a
/// fabrication licence pays for the job instead.
interface IDesignRights {
    /// @notice Called by the job market when job `jobId` for design `designId` is created (posted or taken).
    /// Reverts for an unknown design or one that is not Active. When `customer` owns the design: (0, 0). When
    /// it holds a fabrication licence for it: one licence is consumed for this job and (this contract, 0) is
    /// returned. Otherwise: (the design's current owner, `amount` times the design's royalty).
    /// @return receiver who the market credits `royalty` on settlement (this contract marks a licensed job)
    /// @return royalty the royalty before the market's own cap
    function jobRoyalty(uint256 jobId, address customer, uint256 designId, uint256 amount)
        external
        returns (address receiver, uint256 royalty);

    /// @notice Called by the job market when a licensed job ends without a print (cancelled, expired, or
    /// refunded in full by a dispute): the licence it consumed goes back to its customer, once.
    /// @return released false when the job used no licence or it was already released
    function releaseLicence(uint256 jobId) external returns (bool released);

    /// @notice The DesignNFT whose designs these rights are about. The job market reads `rightsOf` there
    /// first and calls `jobRoyalty` only for designs that are licensed (`markLicensed`) or not Active, so
    /// `jobRoyalty` must agree with the market's shortcut for the others: (owner, amount * royalty), or
    /// (0, 0) for the customer's own design or one this contract holds.
    function designNFT() external view returns (address);
}
