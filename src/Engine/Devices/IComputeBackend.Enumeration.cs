namespace InfoGpu.Devices;

internal partial interface IComputeBackend
{
    /// <summary>
    /// log sum_u exp(d.u + sum_i softplus(e_i + (u M)_i)) over the 2^n configurations u of an RBM layer
    /// (M is n x k row-major, d has n entries, e has k). <c>cpu</c>: float64 throughout. ILGPU:
    /// each configuration's value and each group's log-sum-exp in float32 on the device, the
    /// groups' (maximum, sum) pairs added in float64 on the host.
    /// </summary>
    double EnumerateLogPartition(float[] m, float[] d, float[] e, int n, int k);
}
