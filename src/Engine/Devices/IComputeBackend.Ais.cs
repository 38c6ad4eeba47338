namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>One AIS temperature step for every run: log-weight increments and hidden samples (see AisKernels.HiddenStepKernel; one launch for all runs and units on the ILGPU kinds).</summary>
    void AisHiddenStep(DeviceBuffer<float> field, DeviceBuffer<float> visible, DeviceBuffer<float> biasDelta, DeviceBuffer<float> logWeight, DeviceBuffer<float> compensation, DeviceBuffer<float> hidden, int runs, int nv, int nh, float betaPrev, float beta, ulong seed, ulong stream, long sampleOffset);
}
