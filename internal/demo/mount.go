package demo

// secretFiles turns a Secret's data into the files a kubelet mounts, one per key;
// authtest.WriteSecretDir lays them out as the kubelet does, with the ..data
// symlink swap that the credentials package's reload is written for.
func secretFiles(data map[string][]byte) map[string]string {
	files := make(map[string]string, len(data))
	for k, v := range data {
		files[k] = string(v)
	}
	return files
}
